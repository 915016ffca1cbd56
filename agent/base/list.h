/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Intrusive doubly linked lists in systemd's LIST_* style: an item carries
 * LIST_FIELDS(Type, name) (name_prev, name_next), a head is a plain pointer. No
 * allocation; O(1) insert at the head and removal of any item.
 *
 *   struct Job { LIST_FIELDS(Job, jobs); ... };
 *   LIST_HEAD(Job, jobs);            in the owner
 *   LIST_PREPEND(jobs, owner->jobs, j);   (or LIST_APPEND, which walks to the tail)
 *   LIST_REMOVE(jobs, owner->jobs, j);
 *   LIST_FOREACH(jobs, j, owner->jobs) ...   (do not remove j inside; use _SAFE)
 */

#define LIST_HEAD(t, name) t *name
#define LIST_FIELDS(t, name) t *name##_prev, *name##_next

#define LIST_PREPEND(name, head, item)                                                             \
        do {                                                                                       \
                __typeof__(*(head)) **_head = &(head), *_item = (item);                            \
                _item->name##_prev = NULL;                                                         \
                _item->name##_next = *_head;                                                       \
                if (*_head)                                                                        \
                        (*_head)->name##_prev = _item;                                             \
                *_head = _item;                                                                    \
        } while (0)

/* At the tail, found by walking: for short lists (a queue of checks). */
#define LIST_APPEND(name, head, item)                                                              \
        do {                                                                                       \
                __typeof__(*(head)) **_head = &(head), *_item = (item), *_tail = *_head;           \
                _item->name##_next = NULL;                                                         \
                while (_tail && _tail->name##_next)                                                \
                        _tail = _tail->name##_next;                                                \
                _item->name##_prev = _tail;                                                        \
                if (_tail)                                                                         \
                        _tail->name##_next = _item;                                                \
                else                                                                               \
                        *_head = _item;                                                            \
        } while (0)

#define LIST_REMOVE(name, head, item)                                                              \
        do {                                                                                       \
                __typeof__(*(head)) **_head = &(head), *_item = (item);                            \
                if (_item->name##_next)                                                            \
                        _item->name##_next->name##_prev = _item->name##_prev;                      \
                if (_item->name##_prev)                                                            \
                        _item->name##_prev->name##_next = _item->name##_next;                      \
                else if (*_head == _item)                                                          \
                        *_head = _item->name##_next;                                               \
                _item->name##_next = _item->name##_prev = NULL;                                    \
        } while (0)

#define LIST_FOREACH(name, i, head) for ((i) = (head); (i); (i) = (i)->name##_next)

#define LIST_FOREACH_SAFE(name, i, n, head)                                                        \
        for ((i) = (head); (i) && (((n) = (i)->name##_next), 1); (i) = (n))
