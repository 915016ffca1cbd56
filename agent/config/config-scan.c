/* SPDX-License-Identifier: MIT */
/*
 * The pre-scanner's grammar, as libconfig 1.5 reads it:
 *   file     = setting*
 *   setting  = NAME ('=' | ':') value [';' | ',']
 *   value    = scalar | '[' [scalar {',' scalar}] ']' | '(' [value {',' value}] ')'
 *            | '{' setting* '}'
 * Recursive descent with a depth cap, stopping at the first problem; each message
 * names the setting it is in and, for an unclosed bracket, the line that opened it.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "config/config-scan.h"

#define DEPTH_MAX 64
#define NAME_SHOWN 64

typedef enum TokenKind { T_EOF, T_NAME, T_SCALAR, T_PUNCT } TokenKind;

typedef struct Token {
        TokenKind kind;
        const char *text;
        size_t len;
        int line;
        char punct; /* T_PUNCT */
} Token;

typedef struct Scan {
        const char *p, *end;
        int line;
        Token tok;
        int depth;
        bool failed;
        ConfigScanResult *res;
} Scan;

static void fail(Scan *s, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(Scan *s, int line, const char *fmt, ...) {
        va_list ap;

        if (s->failed)
                return;
        s->failed = true;
        s->res->line = line;
        va_start(ap, fmt);
        vsnprintf(s->res->message, sizeof(s->res->message), fmt, ap);
        va_end(ap);
}

/* A name fit for a message: at most NAME_SHOWN bytes (names are ASCII by the lexer). */
static const char *shown(const Token *t, char buf[static NAME_SHOWN + 1]) {
        size_t n = t->len < NAME_SHOWN ? t->len : NAME_SHOWN;

        memcpy(buf, t->text, n);
        buf[n] = 0;
        return buf;
}

static bool is_name_start(char c) {
        return isalpha((unsigned char) c) || c == '*';
}

static bool is_name_char(char c) {
        return isalnum((unsigned char) c) || c == '-' || c == '_' || c == '*';
}

/* Whitespace and comments; true (kept so a failure could stop the lexer). */
static bool skip_blank(Scan *s) {
        while (s->p < s->end) {
                char c = *s->p;

                if (c == '\n')
                        s->line++, s->p++;
                else if (isspace((unsigned char) c))
                        s->p++;
                else if (c == '#' || (c == '/' && s->p + 1 < s->end && s->p[1] == '/'))
                        while (s->p < s->end && *s->p != '\n')
                                s->p++;
                else if (c == '/' && s->p + 1 < s->end && s->p[1] == '*') {
                        /* Like libconfig: a comment that never ends runs to the end. */
                        for (s->p += 2; s->p < s->end; s->p++) {
                                if (*s->p == '\n')
                                        s->line++;
                                else if (*s->p == '*' && s->p + 1 < s->end && s->p[1] == '/')
                                        break;
                        }
                        s->p = s->p < s->end ? s->p + 2 : s->end;
                } else
                        return true;
        }
        return true;
}

static void lex_string(Scan *s) {
        int start = s->line;

        for (s->p++; s->p < s->end && *s->p != '"'; s->p++) {
                if (*s->p == '\n')
                        s->line++;
                else if (*s->p == '\\' && s->p + 1 < s->end && s->p[1] != '\n')
                        s->p++;
        }
        if (s->p >= s->end)
                fail(s, start, "the string opened with \" here is never closed");
        else
                s->p++;
}

static void next(Scan *s) {
        Token *t = &s->tok;
        char c;

        *t = (Token){ .kind = T_EOF, .line = s->line };
        if (s->failed || !skip_blank(s) || s->p >= s->end) {
                t->line = s->line;
                return;
        }
        t->text = s->p;
        t->line = s->line;
        c = *s->p;
        if (c == '"') {
                /* Adjacent strings are one value: "a" "b". */
                do {
                        lex_string(s);
                } while (!s->failed && skip_blank(s) && s->p < s->end && *s->p == '"');
                t->kind = T_SCALAR;
        } else if (is_name_start(c)) {
                while (s->p < s->end && is_name_char(*s->p))
                        s->p++;
                t->len = (size_t) (s->p - t->text);
                t->kind = (t->len == 4 && strncasecmp(t->text, "true", 4) == 0) ||
                                          (t->len == 5 && strncasecmp(t->text, "false", 5) == 0)
                                  ? T_SCALAR
                                  : T_NAME;
                return;
        } else if (isdigit((unsigned char) c) ||
                   ((c == '-' || c == '+' || c == '.') && s->p + 1 < s->end &&
                    (isdigit((unsigned char) s->p[1]) || s->p[1] == '.'))) {
                for (s->p++; s->p < s->end && (isalnum((unsigned char) *s->p) || *s->p == '.' ||
                                               ((*s->p == '-' || *s->p == '+') &&
                                                (s->p[-1] == 'e' || s->p[-1] == 'E')));
                     s->p++)
                        ;
                t->kind = T_SCALAR;
        } else if (c != 0 && strchr("=:;,{}()[]", c)) {
                t->kind = T_PUNCT;
                t->punct = c;
                s->p++;
        } else if ((unsigned char) c >= 0x20 && (unsigned char) c < 0x7f)
                fail(s, s->line, "unexpected character '%c'", c);
        else
                fail(s, s->line, "unexpected byte 0x%02x (not text)", (unsigned char) c);
        t->len = (size_t) (s->p - t->text);
}

static bool at(const Scan *s, char punct) {
        return s->tok.kind == T_PUNCT && s->tok.punct == punct;
}

static bool at_closer(const Scan *s) {
        return at(s, '}') || at(s, ')') || at(s, ']');
}

static void parse_settings(Scan *s, char closer, int open_line, const char *open_name);

/* What stands where a value was due, for a message. */
static const char *what(const Scan *s, char buf[static 16]) {
        if (s->tok.kind == T_EOF)
                return "the end of the file";
        snprintf(buf, 16, "'%c'", s->tok.punct);
        return buf;
}

static void parse_value(Scan *s, const char *name);

/* After an element of a list or array: ',' or the closer; anything else is a fault. */
static bool element_end(Scan *s, char closer, int open_line, const char *name) {
        char w[16];

        if (at(s, ',')) {
                next(s);
                return !at(s, closer);
        }
        if (at(s, closer))
                return false;
        if (s->tok.kind == T_EOF)
                fail(s, open_line, "the '%c' of %s opened here is never closed",
                     closer == ']' ? '[' : '(', name);
        else if (s->tok.kind == T_PUNCT && strchr(";}", s->tok.punct))
                fail(s, open_line, "the '%c' of %s opened here is not closed before %s on line %d",
                     closer == ']' ? '[' : '(', name, what(s, w), s->tok.line);
        else
                fail(s, s->tok.line, "missing ',' between two elements of %s", name);
        return false;
}

static void parse_array(Scan *s, const char *name) {
        int open = s->tok.line;

        for (next(s); !s->failed && !at(s, ']');) {
                if (at(s, '{') || at(s, '(') || at(s, '[')) {
                        fail(s, s->tok.line,
                             "%s is a list ( ), not an array [ ]: an array holds only strings, "
                             "numbers or booleans",
                             name);
                        return;
                }
                parse_value(s, name);
                if (s->failed || !element_end(s, ']', open, name))
                        break;
        }
        if (!s->failed)
                next(s);
}

static void parse_list(Scan *s, const char *name) {
        int open = s->tok.line;

        for (next(s); !s->failed && !at(s, ')');) {
                parse_value(s, name);
                if (s->failed || !element_end(s, ')', open, name))
                        break;
        }
        if (!s->failed)
                next(s);
}

static void parse_value(Scan *s, const char *name) {
        char w[16], word[NAME_SHOWN + 1];
        int open = s->tok.line;

        if (s->depth >= DEPTH_MAX) {
                fail(s, s->tok.line, "nested deeper than %d levels", DEPTH_MAX);
                return;
        }
        s->depth++;
        if (s->tok.kind == T_SCALAR)
                next(s);
        else if (s->tok.kind == T_NAME)
                fail(s, s->tok.line, "the value of %s must be quoted: \"%s\"", name,
                     shown(&s->tok, word));
        else if (at(s, '['))
                parse_array(s, name);
        else if (at(s, '('))
                parse_list(s, name);
        else if (at(s, '{')) {
                next(s);
                parse_settings(s, '}', open, name);
                if (!s->failed)
                        next(s);
        } else
                fail(s, s->tok.line, "%s has no value before %s", name, what(s, w));
        s->depth--;
}

static void parse_setting(Scan *s) {
        char name[NAME_SHOWN + 1], w[16];
        int line = s->tok.line;

        if (s->tok.kind == T_SCALAR) {
                fail(s, line, "a setting starts with a name, not a value");
                return;
        }
        shown(&s->tok, name);
        next(s);
        if (!at(s, '=') && !at(s, ':')) {
                if (at(s, '{') || at(s, '(') || at(s, '['))
                        fail(s, s->tok.line, "missing '=' or ':' between %s and '%c'", name,
                             s->tok.punct);
                else if (s->tok.kind == T_EOF || s->tok.kind == T_PUNCT)
                        fail(s, line, "%s needs '=' or ':' and a value, not %s", name, what(s, w));
                else
                        fail(s, s->tok.line, "missing '=' or ':' after %s", name);
                return;
        }
        next(s);
        parse_value(s, name);
        if (!s->failed && (at(s, ';') || at(s, ',')))
                next(s);
}

static void parse_settings(Scan *s, char closer, int open_line, const char *open_name) {
        while (!s->failed) {
                if (s->tok.kind == T_EOF) {
                        if (closer)
                                fail(s, open_line, "the '{' of %s opened here is never closed",
                                     open_name);
                        return;
                }
                if (closer && at(s, closer))
                        return;
                if (at_closer(s)) {
                        if (closer)
                                fail(s, s->tok.line,
                                     "'%c' does not close the '{' of %s opened on line %d",
                                     s->tok.punct, open_name, open_line);
                        else
                                fail(s, s->tok.line, "'%c' closes nothing: no bracket is open",
                                     s->tok.punct);
                        return;
                }
                if (s->tok.kind == T_PUNCT) {
                        fail(s, s->tok.line, "unexpected '%c' where a setting name belongs",
                             s->tok.punct);
                        return;
                }
                parse_setting(s);
        }
}

int config_scan(const char *text, size_t len, ConfigScanResult *ret) {
        Scan s = { .p = text, .end = text + len, .line = 1, .res = ret };

        next(&s);
        parse_settings(&s, 0, 0, NULL);
        return s.failed ? 1 : 0;
}
