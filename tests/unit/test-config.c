/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <sys/stat.h>

#include "config/config.h"
#include "base/util.h"

#define MAX_WANT 8

/*
 * --wrap=getpwnam_r/getgrnam_r: the packages create user and group "drover", the test
 * machine may not have them. They exist here unless a test says otherwise; every other
 * name is the system's.
 */
static bool drover_user_exists = true, drover_group_exists = true;

int __real_getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t n,
                      struct passwd **ret);
int __wrap_getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t n,
                      struct passwd **ret);
int __wrap_getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t n,
                      struct passwd **ret) {
        if (!streq(name, "drover"))
                return __real_getpwnam_r(name, pw, buf, n, ret);
        *pw = (struct passwd){ .pw_name = (char *) "drover", .pw_uid = 990, .pw_gid = 991 };
        *ret = drover_user_exists ? pw : NULL;
        return 0;
}

int __real_getgrnam_r(const char *name, struct group *gr, char *buf, size_t n, struct group **ret);
int __wrap_getgrnam_r(const char *name, struct group *gr, char *buf, size_t n, struct group **ret);
int __wrap_getgrnam_r(const char *name, struct group *gr, char *buf, size_t n, struct group **ret) {
        if (!streq(name, "drover"))
                return __real_getgrnam_r(name, gr, buf, n, ret);
        *gr = (struct group){ .gr_name = (char *) "drover", .gr_gid = 991 };
        *ret = drover_group_exists ? gr : NULL;
        return 0;
}

/* Loads text as "t.conf" and asserts the exact messages, in order (none: it loads). */
static void expect(const char *text, unsigned flags, const char *const *want) {
        _cleanup_(config_freep) Config *c = NULL;
        ConfigErrors errors = {};
        size_t n_want = 0;
        int r;

        while (n_want < MAX_WANT && want[n_want])
                n_want++;
        r = config_load_string(text, "t.conf", flags, &c, &errors);
        for (size_t i = 0; i < errors.n; i++) {
                _cleanup_free_ char *s = config_error_format(&errors.items[i]);
                if (i >= n_want || !streq(s, want[i]))
                        fail_msg("config:\n%s\nerror %zu: got  '%s'\n          want '%s'", text, i,
                                 s, i < n_want ? want[i] : "(nothing)");
        }
        if (errors.n != n_want)
                fail_msg("config:\n%s\ngot %zu errors, want %zu", text, errors.n, n_want);
        assert_int_equal(r, n_want ? -EINVAL : 0);
        assert_true(n_want ? c == NULL : c != NULL);
        config_errors_clear(&errors);
}

#define OK_CHECK "command = [ \"/bin/true\" ]; "

static void test_broken(void **state) {
        static const struct {
                const char *text;
                const char *want[MAX_WANT];
        } cases[] = {
                { "imds: { retries = ; };",
                  { "t.conf:1: syntax error: retries has no value before ';'" } },
                { "imds: {\n retries = 3;\n token_ttl = ; };",
                  { "t.conf:3: syntax error: token_ttl has no value before ';'" } },
                /* The pre-scanner's hints, FILE:LINE and all (test-config-scan.c has more). */
                { "checks = [\n { name = \"web\"; command = [ \"/bin/true\" ]; }\n];",
                  { "t.conf:2: syntax error: checks is a list ( ), not an array [ ]: an array "
                    "holds only strings, numbers or booleans" } },
                { "policy: {\n  grace_period = 10;\n\nmetrics: { enabled = true; };\n",
                  { "t.conf:1: syntax error: the '{' of policy opened here is never closed" } },
                { "policy: { dry_run = true; };\npolicy: { jitter = 1; };",
                  { "t.conf:2: duplicate setting name: this key or group is already set above in "
                    "the same file (merge them)" } },
                { "policy: { dry_run = \"yes\"; };",
                  { "t.conf:1: policy.dry_run must be true or false, not a string" } },
                { "imds: { retries = 1.5; };",
                  { "t.conf:1: imds.retries must be an integer, not a decimal number" } },
                { "imds: { token_ttl = 0; };",
                  { "t.conf:1: imds.token_ttl must be between 1 and 21600, not 0" } },
                { "imds: { token_ttl = 99999999999L; };",
                  { "t.conf:1: imds.token_ttl must be between 1 and 21600, not 99999999999" } },
                { "http: { listen = [ \"8053\" ]; };",
                  { "t.conf:1: http.listen: element 1 must be a numeric address and port like "
                    "\"0.0.0.0:8053\" or \"[::]:8053\" (no host names; port 1-65535), not "
                    "\"8053\"" } },
                { "http: {\n allow = [ \"10.0.0.0/8\", \"::1/200\" ]; };",
                  { "t.conf:2: http.allow: element 2 must be a network like \"10.0.0.0/8\" or "
                    "\"2001:db8::/32\", or one address, with no bits set past the prefix "
                    "length, not \"::1/200\"" } },
                { "http: { listen = \"0.0.0.0:8053\"; };",
                  { "t.conf:1: http.listen must be an array of strings like [ \"a\", \"b\" ], "
                    "not a string" } },
                { "plugins: { timeout = 0.01; };",
                  { "t.conf:1: plugins.timeout must be between 0.1 and 3600 seconds, not 0.01" } },
                { "plugins: { timeout = \"10s\"; };",
                  { "t.conf:1: plugins.timeout must be a number of seconds, not a string" } },
                { "polcy: { dry_run = true; };",
                  { "t.conf:1: unknown key 'polcy' (did you mean 'policy'?)" } },
                { "metrics: {\n colour = 1; };", { "t.conf:2: unknown key 'metrics.colour'" } },
                { "check = ( { name = \"a\"; " OK_CHECK "} );",
                  { "t.conf:1: unknown key 'check' (did you mean 'checks'?)" } },
                { "imds = 5;", { "t.conf:1: imds must be a group { ... }, not an integer" } },
                { "policy: { action = \"replace\"; };",
                  { "t.conf:1: policy.action must be one of set-unhealthy, terminate-in-asg, "
                    "terminate, none; not \"replace\"" } },
                { "policy: { standalone_action = \"set-unhealthy\"; };",
                  { "t.conf:1: policy.standalone_action must be one of none, terminate; not "
                    "\"set-unhealthy\"" } },
                { "plugins: { timeout_state = 2; };",
                  { "t.conf:1: plugins.timeout_state must be one of ok, warning, critical, "
                    "unknown; not an integer" } },
                { "policy: { max_unhealthy = \"0%\"; };",
                  { "t.conf:1: policy.max_unhealthy must be between 1% and 100% (or the count 0 "
                    "to never replace), not \"0%\"" } },
                { "policy: { max_unhealthy = \"ten\"; max_replacements_per_hour = -1; };",
                  { "t.conf:1: policy.max_unhealthy must be a count like 2 or a percentage like "
                    "\"10%\", not \"ten\"",
                    "t.conf:1: policy.max_replacements_per_hour must be a count between 0 and "
                    "100000, not -1" } },
                { "policy: { max_unhealthy = \"12.5%\"; };",
                  { "t.conf:1: policy.max_unhealthy must be a count like 2 or a percentage like "
                    "\"10%\", not \"12.5%\"" } },
                { "imds: { endpoint = \"https://169.254.169.254\"; };",
                  { "t.conf:1: imds.endpoint must use http:// (IMDS is plain HTTP on a "
                    "link-local address), not \"https://169.254.169.254\"" } },
                { "imds: { endpoint = \"http://169.254.169.254/latest\"; };",
                  { "t.conf:1: imds.endpoint must be a URL like http://169.254.169.254 or "
                    "http://[fd00:ec2::254] (host and optional port, no path), not "
                    "\"http://169.254.169.254/latest\"" } },
                { "aws: { endpoints: { ec2 = \"http://ec2.example.com\"; }; };",
                  { "t.conf:1: aws.endpoints.ec2 may use plain http:// only on loopback "
                    "(127.0.0.0/8, ::1, localhost); use https://, not "
                    "\"http://ec2.example.com\"" } },
                { "aws: { endpoints: { autoscaling = \"ftp://127.0.0.1\"; }; };",
                  { "t.conf:1: aws.endpoints.autoscaling must be a URL like "
                    "https://ec2.us-east-1.amazonaws.com (host and optional port, no path), or "
                    "\"\", not \"ftp://127.0.0.1\"" } },
                { "aws: { region = \"US-EAST-1\"; };",
                  { "t.conf:1: aws.region must be an AWS region name like us-east-1, or \"\", "
                    "not \"US-EAST-1\"" } },
                { "metrics: { namespace = \"AWS/EC2\"; };",
                  { "t.conf:1: metrics.namespace must not start with AWS/ (reserved for AWS), "
                    "not \"AWS/EC2\"" } },
                { "metrics: { statsd = \"localhost:8125\"; };",
                  { "t.conf:1: metrics.statsd must be a numeric address and port like "
                    "127.0.0.1:8125 or [::1]:8125 (no host names), not \"localhost:8125\"" } },
                { "metrics: { statsd = \"::1:8125\"; };",
                  { "t.conf:1: metrics.statsd must be a numeric address and port like "
                    "127.0.0.1:8125 or [::1]:8125 (no host names), not \"::1:8125\"" } },
                { "metrics: { statsd_prefix = \"my-app.\"; };",
                  { "t.conf:1: metrics.statsd_prefix must be \"\" or dot-separated names of "
                    "letters, digits and _ (like \"drover\" or \"prod.web\"), at most 128 "
                    "characters, not \"my-app.\"" } },
                { "metrics: { statsd_tags = \"influx\"; };",
                  { "t.conf:1: metrics.statsd_tags must be one of none, dogstatsd; not "
                    "\"influx\"" } },
                { "metrics: { sinks = [ \"graphite\" ]; };",
                  { "t.conf:1: metrics.sinks: \"graphite\" is not one of cloudwatch, statsd" } },
                { "plugins: { user = \"no-such-user-drover\"; };",
                  { "t.conf:1: plugins.user names a user 'no-such-user-drover' that does not "
                    "exist, not \"no-such-user-drover\"" } },
                { "hooks: { on_failure = \"retry\"; };",
                  { "t.conf:1: hooks.on_failure must be one of continue, abandon; not "
                    "\"retry\"" } },
                { "hooks: { replace_on = [ \"reboot\" ]; };",
                  { "t.conf:1: hooks.replace_on: \"reboot\" is not one of rebalance, "
                    "instance-retirement, instance-stop, system-reboot, system-maintenance, "
                    "instance-reboot" } },
                { "hooks: { replace_on = [ \"rebalance\", \"rebalance\" ]; };",
                  { "t.conf:1: hooks.replace_on lists \"rebalance\" twice" } },
                { "hooks: { dir = \"hooks.d\"; };",
                  { "t.conf:1: hooks.dir must be an absolute path, not \"hooks.d\"" } },
                { "checks = { name = \"x\"; };",
                  { "t.conf:1: checks must be a list ( { name = ...; command = [ ... ]; }, ... ), "
                    "not a group" } },
                { "checks = ( \"web\" );",
                  { "t.conf:1: check #1 must be a group { name = ...; command = [ ... ]; }, not "
                    "a string" } },
                { "checks = (\n { name = \"a\"; " OK_CHECK "},\n { name = \"a\"; " OK_CHECK "} );",
                  { "t.conf:3: check 'a' is already defined at t.conf:2" } },
                { "checks = ( { name = \"no spaces\"; " OK_CHECK "} );",
                  { "t.conf:1: check #1: name must be 1 to 64 letters, digits, '_', '.' or '-'" } },
                { "checks = ( { role = \"liveness\"; } );",
                  { "t.conf:1: check #1: name is missing",
                    "t.conf:1: check #1: command is missing" } },
                { "checks = ( { name = \"a\"; command = [ \"check_http\" ]; } );",
                  { "t.conf:1: check 'a': command must start with an absolute path to the "
                    "program, not \"check_http\"" } },
                { "checks = ( { name = \"a\"; command = [ ]; } );",
                  { "t.conf:1: check 'a': command must not be empty" } },
                { "checks = ( { name = \"a\"; command = \"/bin/true -v\"; } );",
                  { "t.conf:1: check 'a': command must be an array [ \"/path/to/plugin\", \"arg\", "
                    "... ] (or set shell = true to run a shell command line)" } },
                { "checks = ( { name = \"a\"; shell = true; command = [ \"a\", \"b\" ]; } );",
                  { "t.conf:1: check 'a': with shell = true, command must be one string (run "
                    "with /bin/sh -c)" } },
                { "checks = ( { name = \"a\"; " OK_CHECK "role = \"critical\"; fall = 0; } );",
                  { "t.conf:1: check 'a': role must be one of liveness, readiness, dependency; "
                    "not \"critical\"",
                    "t.conf:1: check 'a': fall must be between 1 and 100, not 0" } },
                { "checks = ( { name = \"a\"; " OK_CHECK "intervall = 5; } );",
                  { "t.conf:1: check 'a': unknown key 'intervall' (did you mean 'interval'?)" } },
                { "checks = ( { name = \"a\"; " OK_CHECK "remediate = { attempts = 1; }; } );",
                  { "t.conf:1: check 'a': remediate needs restart_unit or exec" } },
                /* The state keeps 32 attempts: more would leave the check remediating for
                 * ever (the ladder never saw them all). */
                { "checks = ( { name = \"a\"; " OK_CHECK "remediate = { restart_unit = "
                  "\"x.service\"; attempts = 33; }; } );",
                  { "t.conf:1: check 'a': remediate.attempts must be between 0 and 32, not 33" } },
                { "checks = ( { name = \"a\"; " OK_CHECK "role = \"dependency\";\n"
                  "  remediate = { restart_unit = \"x.service\"; }; } );",
                  { "t.conf:2: check 'a': remediate is not allowed on a dependency check (a "
                    "dependency is something this instance cannot fix)" } },
                { "checks = ( { name = \"a\"; " OK_CHECK "remediate = { restart_unit = \"nginx\"; "
                  "exec = [ \"fix\" ]; }; } );",
                  { "t.conf:1: check 'a': remediate.restart_unit must be a systemd unit name like "
                    "nginx.service, or \"\", not \"nginx\"",
                    "t.conf:1: check 'a': remediate.exec must start with an absolute path to the "
                    "program, not \"fix\"" } },
                { "x = 1;\n@include \"/etc/passwd\"\n",
                  { "t.conf:2: @include is not supported: put extra files in conf.d/ beside the "
                    "main file" } },
                /* libconfig 1.5 keeps 32 bits of an integer and says nothing */
                { "policy: { grace_period = 4294967296; };",
                  { "t.conf:1: 4294967296 is out of range: an integer must lie between "
                    "-2147483648 and 2147483647 (hex up to 0x7FFFFFFF) unless it ends in L" } },
                { "imds: {\n retries = 0x80000000; timeout_ms = -2147483649; };",
                  { "t.conf:2: 0x80000000 is out of range: an integer must lie between "
                    "-2147483648 and 2147483647 (hex up to 0x7FFFFFFF) unless it ends in L",
                    "t.conf:2: -2147483649 is out of range: an integer must lie between "
                    "-2147483648 and 2147483647 (hex up to 0x7FFFFFFF) unless it ends in L" } },
                { "checks = ( { name = \"a\"; " OK_CHECK "fall = 99999999999999999999L; } );",
                  { "t.conf:1: 99999999999999999999L is out of range: an integer must lie "
                    "between -2147483648 and 2147483647 (hex up to 0x7FFFFFFF) unless it ends "
                    "in L" } },
                /* with L it is kept whole, and then out of the key's range */
                { "policy: { grace_period = 4294967296L; };",
                  { "t.conf:1: policy.grace_period must be between 0 and 86400 seconds, not "
                    "4.29497e+09" } },
                { "plugins: { max_output = 0x7FFFFFFF; };",
                  { "t.conf:1: plugins.max_output must be between 256 and 16777216, not "
                    "2147483647" } },
                { "policy: { max_unhealthy = 4294967296; };",
                  { "t.conf:1: 4294967296 is out of range: an integer must lie between "
                    "-2147483648 and 2147483647 (hex up to 0x7FFFFFFF) unless it ends in L" } },
                /* a float is range-checked before it becomes microseconds */
                { "policy: { grace_period = 1e30; };\nplugins: { timeout = -1e308; };",
                  { "t.conf:1: policy.grace_period must be between 0 and 86400 seconds, not "
                    "1e+30",
                    "t.conf:2: plugins.timeout must be between 0.1 and 3600 seconds, not "
                    "-1e+308" } },
                /* a group is for a user: without one it would be silently ignored */
                { "plugins: { user = \"\"; group = \"nogroup\"; };",
                  { "t.conf:1: plugins.group = \"nogroup\" has no effect without a user: set a "
                    "user too, or remove the group" } },
                { "plugins: { user = \"\"; };\nhooks: { group = \"nogroup\"; };",
                  { "t.conf:2: hooks.group = \"nogroup\" has no effect without a user: set a "
                    "user too, or remove the group" } },
                { "checks = ( { name = \"a\"; " OK_CHECK "user = \"\";\n group = \"nogroup\"; } );",
                  { "t.conf:2: check 'a': group = \"nogroup\" has no effect without a user: set "
                    "a user too, or remove the group" } },
                /* All errors at once, in line order, whatever the walking order. */
                { "checks = ( { name = \"a\"; command = [ \"rel\" ]; } );\n"
                  "imds: { retries = 11;\n  allow_v1 = 1; };\n"
                  "policy: { jitter = -1; };\n"
                  "bogus = true;\n",
                  { "t.conf:1: check 'a': command must start with an absolute path to the program, "
                    "not \"rel\"",
                    "t.conf:2: imds.retries must be between 0 and 10, not 11",
                    "t.conf:3: imds.allow_v1 must be true or false, not an integer",
                    "t.conf:4: policy.jitter must be between 0 and 3600 seconds, not -1",
                    "t.conf:5: unknown key 'bogus'" } },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                expect(cases[i].text, 0, cases[i].want);
}

static void test_valid_variants(void **state) {
        static const char *const ok[] = {
                "",
                "checks = ();",
                "checks = [];",
                "imds: { endpoint = \"http://[fd00:ec2::254]\"; };",
                "imds: { endpoint = \"http://127.0.0.1:8080/\"; };",
                "aws: { endpoints: { ec2 = \"http://127.0.0.5:9\"; autoscaling = "
                "\"http://[::1]:80\";"
                " cloudwatch = \"http://localhost:1\"; }; };",
                "aws: { endpoints: { ec2 = \"https://ec2.eu-west-1.amazonaws.com\"; }; };",
                "policy: { max_unhealthy = 0; max_replacements_per_hour = \"3\"; };",
                "policy: { max_unhealthy = \"100%\"; action = \"NONE\"; };",
                "checks = ( { name = \"s\"; shell = true; command = \"echo a | grep a\"; } );",
                "checks = ( { name = \"s\"; shell = true; command = [ \"echo a\" ]; } );",
                "checks = ( { name = \"Web_1.x-y\"; command = [ \"/nonexistent/plugin\" ]; } );",
                "plugins: { user = \"\"; group = \"\"; };",
                "plugins: { user = \"nobody\"; group = \"nogroup\"; };",
                "hooks: { replace_on = []; };",
                /* numbers in strings and comments are not libconfig's integers */
                "# grace_period = 4294967296\n/* 0x80000000 */ // 99999999999\n"
                "checks = ( { name = \"a\"; command = [ \"/bin/true\", \"4294967296\" ]; } );",
                "imds: { retries = 0x0000000A; token_ttl = 21600L; };",
                "plugins: { user = \"\"; };", /* the default group goes with the user */
                "plugins: { user = \"nobody\"; group = \"\"; };",
        };
        const char *none[] = { NULL };

        for (size_t i = 0; i < ELEMENTSOF(ok); i++)
                expect(ok[i], 0, none);
}

/* The default users are checked like written ones: config-test must not say OK for a
 * configuration every check of which would then fail with "unknown user". */
static void test_default_users(void **state) {
        static const char *const no_user[] = {
                "t.conf: plugins.user is \"drover\" by default, and no such user exists: create "
                "it (the packages do) or set plugins.user = \"\" to run as drover's own user",
                NULL
        };
        static const char *const no_group[] = {
                "t.conf: plugins.group is \"drover\" by default, and no such group exists: "
                "create it (the packages do) or set plugins.group = \"\" for the user's own "
                "group",
                NULL
        };
        static const char *const none[] = { NULL };

        drover_user_exists = false;
        expect("", 0, no_user); /* once: hooks and checks inherit it */
        expect("checks = ( { name = \"a\"; " OK_CHECK "} );", 0, no_user);
        expect("plugins: { user = \"\"; };", 0, none);
        expect("plugins: { user = \"nobody\"; };", 0, none);
        drover_user_exists = true;
        drover_group_exists = false;
        expect("", 0, no_group);
        expect("plugins: { group = \"\"; };", 0, none);
        drover_group_exists = true;
}

/* Resolved at load for whoever spawns (RunAs), with the users the loader validated. */
static void test_resolved_ids(void **state) {
        _cleanup_(config_freep) Config *c = NULL, *d = NULL;
        ConfigErrors errors = {};
        struct passwd *nobody = getpwnam("nobody");

        assert_non_null(nobody);
        assert_int_equal(config_load_string("checks = ( { name = \"a\"; " OK_CHECK "},\n"
                                            "  { name = \"b\"; " OK_CHECK "user = \"nobody\"; "
                                            "group = \"\"; } );",
                                            "t.conf", 0, &c, &errors),
                         0);
        assert_int_equal(c->hooks.run_as.uid, 990);
        assert_int_equal(c->hooks.run_as.gid, 991);
        assert_int_equal(c->checks[0].run_as.uid, 990);
        assert_int_equal(c->checks[0].run_as.gid, 991);
        assert_int_equal(c->checks[1].run_as.uid, nobody->pw_uid);
        assert_int_equal(c->checks[1].run_as.gid, nobody->pw_gid);
        assert_int_equal(config_load_string("plugins: { user = \"\"; };\n"
                                            "hooks: { user = \"nobody\"; group = \"drover\"; };",
                                            "t.conf", 0, &d, &errors),
                         0);
        assert_int_equal(d->hooks.run_as.uid, nobody->pw_uid);
        assert_int_equal(d->hooks.run_as.gid, 991);
        assert_int_equal(errors.n, 0);
}

static void test_defaults(void **state) {
        _cleanup_(config_freep) Config *c = NULL;
        ConfigErrors errors = {};

        assert_int_equal(config_load_string("checks = ( { name = \"a\"; " OK_CHECK "} );", "d", 0,
                                            &c, &errors),
                         0);
        assert_int_equal(errors.n, 0);
        assert_string_equal(c->path, "d");
        assert_string_equal(c->imds.endpoint, "http://169.254.169.254");
        assert_int_equal(c->imds.token_ttl, 21600);
        assert_int_equal(c->imds.timeout_ms, 1000);
        assert_int_equal(c->imds.retries, 3);
        assert_false(c->imds.allow_v1);
        assert_string_equal(c->aws.region, "");
        assert_string_equal(c->aws.endpoint_autoscaling, "");
        assert_string_equal(c->aws.endpoint_ec2, "");
        assert_string_equal(c->aws.endpoint_cloudwatch, "");
        assert_string_equal(c->aws.ca_file, "");
        assert_false(c->aws.fips);
        assert_int_equal(c->aws.timeout_ms, 10000);
        assert_int_equal(c->aws.max_attempts, 3);
        assert_string_equal(c->plugins.user, "drover");
        assert_string_equal(c->plugins.group, "drover");
        assert_true(c->plugins.timeout == 10.0 && c->plugins.kill_grace == 2.0);
        assert_int_equal(c->plugins.max_output, 65536);
        assert_int_equal(c->plugins.concurrency, 4);
        assert_int_equal(c->plugins.timeout_state, NAGIOS_CRITICAL);
        assert_true(c->policy.grace_period == 300.0);
        assert_int_equal(c->policy.action, REPLACE_SET_UNHEALTHY);
        assert_false(c->policy.dry_run);
        assert_true(c->policy.max_unhealthy.percent);
        assert_int_equal(c->policy.max_unhealthy.value, 10);
        assert_true(c->policy.max_replacements_per_hour.percent);
        assert_int_equal(c->policy.max_replacements_per_hour.value, 25);
        assert_true(c->policy.jitter == 5.0 && c->policy.confirm_interval == 60.0);
        assert_int_equal(c->policy.standalone_action, REPLACE_NONE);
        assert_true(c->metrics.enabled);
        assert_string_equal(c->metrics.namespace, "Drover");
        assert_true(c->metrics.interval == 60.0);
        assert_false(c->metrics.high_resolution);
        assert_false(c->metrics.per_instance);
        assert_int_equal(c->metrics.buffer_max, 10000);
        assert_int_equal(strv_length(c->metrics.sinks), 1);
        assert_string_equal(c->metrics.sinks[0], "cloudwatch");
        assert_string_equal(c->metrics.statsd, "127.0.0.1:8125");
        assert_string_equal(c->metrics.statsd_prefix, "drover");
        assert_int_equal(c->metrics.statsd_tags, STATSD_TAGS_NONE);
        assert_true(config_metrics_sink(c, "cloudwatch"));
        assert_false(config_metrics_sink(c, "statsd"));
        assert_string_equal(c->hooks.dir, SYSCONFDIR "/drover/hooks.d");
        assert_true(c->hooks.timeout == 300.0 && c->hooks.heartbeat_interval == 60.0);
        assert_string_equal(c->hooks.terminate_hook_name, "");
        assert_string_equal(c->hooks.launch_hook_name, "");
        assert_false(c->hooks.abandon_on_failure);
        assert_string_equal(c->hooks.user, "drover");
        assert_string_equal(c->hooks.group, "drover");
        assert_true(c->hooks.poll_interval == 5.0 && c->hooks.launch_timeout == 600.0);
        assert_int_equal(strv_length(c->http.listen), 0); /* off */
        assert_int_equal(strv_length(c->http.allow), 0);
        assert_true(c->http.drain_delay == 0.0);
        assert_int_equal(strv_length(c->hooks.replace_on), 2);
        assert_string_equal(c->hooks.replace_on[0], "instance-retirement");
        assert_string_equal(c->hooks.replace_on[1], "instance-stop");
        assert_string_equal(c->status.group, "");

        assert_int_equal(c->n_checks, 1);
        const CheckConfig *k = &c->checks[0];
        assert_string_equal(k->name, "a");
        assert_int_equal(k->role, CHECK_ROLE_LIVENESS);
        assert_int_equal(strv_length(k->command), 1);
        assert_string_equal(k->command[0], "/bin/true");
        assert_false(k->shell);
        assert_true(k->interval == 30.0 && k->timeout == 10.0 && k->kill_grace == 2.0);
        assert_int_equal(k->fall, 3);
        assert_int_equal(k->rise, 2);
        assert_string_equal(k->user, "drover");
        assert_string_equal(k->group, "drover");
        assert_int_equal(k->max_output, 65536);
        assert_int_equal(k->timeout_state, NAGIOS_CRITICAL);
        assert_false(k->has_remediation);
        assert_string_equal(k->remediate.restart_unit, "");
        assert_int_equal(strv_length(k->remediate.exec), 0);
        assert_int_equal(k->remediate.attempts, 2);
        assert_true(k->remediate.window == 3600.0 && k->remediate.backoff == 30.0);
        assert_true(k->remediate.delay == 10.0 && k->remediate.settle == 0.0);
        assert_string_equal(k->file, "d");
        assert_int_equal(k->line, 1);
}

static const char full_config[] =
        "checks = (\n"
        "  { name = \"web\"; role = \"readiness\"; command = [ \"/bin/echo\", \"-n\", \"x\" ];\n"
        "    interval = 10; timeout = 2.5; kill_grace = 1; fall = 5; rise = 4; user = \"root\";\n"
        "    group = \"root\"; max_output = 1024; timeout_state = \"UNKNOWN\";\n"
        "    remediate = { restart_unit = \"nginx.service\"; exec = [ \"/bin/true\", \"x\" ];\n"
        "      attempts = 0; window = 60; backoff = 1.5; delay = 0; settle = 20; }; },\n"
        "  { name = \"db\"; role = \"dependency\"; command = [ \"/bin/true\" ]; }\n"
        ");\n"
        "imds: { endpoint = \"http://127.0.0.1:1234/\"; token_ttl = 60; timeout_ms = 50;\n"
        "        retries = 0; allow_v1 = true; };\n"
        "aws: { region = \"eu-west-1\"; endpoints: { autoscaling = \"http://127.0.0.1:9\";\n"
        "       ec2 = \"https://e.example\"; cloudwatch = \"http://[::1]:7\"; };\n"
        "       ca_file = \"/dev/null\"; fips = true; timeout_ms = 100; max_attempts = 10; };\n"
        "plugins: { user = \"nobody\"; group = \"nogroup\"; timeout = 3; kill_grace = 0.5;\n"
        "           max_output = 4096; concurrency = 2; timeout_state = \"warning\"; };\n"
        "policy: { grace_period = 0; action = \"terminate-in-asg\"; dry_run = true;\n"
        "          max_unhealthy = 2; max_replacements_per_hour = \"50%\"; jitter = 0.25;\n"
        "          standalone_action = \"terminate\"; confirm_interval = 5; };\n"
        "metrics: { enabled = false; namespace = \"My/App\"; interval = 10;\n"
        "           high_resolution = true; per_instance = true; buffer_max = 5;\n"
        "           sinks = [ \"statsd\", \"cloudwatch\" ]; statsd = \"[::1]:9125\";\n"
        "           statsd_prefix = \"prod.web\"; statsd_tags = \"dogstatsd\"; };\n"
        "hooks: { dir = \"/tmp/hooks\"; timeout = 30; heartbeat_interval = 10;\n"
        "         lifecycle_hook_names = { terminate = \"drain\"; launch = \"bootstrap\"; };\n"
        "         on_failure = \"abandon\"; poll_interval = 1; launch_timeout = 100;\n"
        "         replace_on = [ \"rebalance\", \"system-maintenance\" ]; };\n"
        "status: { group = \"root\"; };\n"
        "http: { listen = [ \"0.0.0.0:8053\", \"[::1]:9100\" ]; allow = [ \"10.0.0.0/8\" ];\n"
        "        drain_delay = 30; };\n";

static void test_every_key(void **state) {
        _cleanup_(config_freep) Config *c = NULL;
        ConfigErrors errors = {};
        const CheckConfig *w, *d;

        assert_int_equal(config_load_string(full_config, "f", 0, &c, &errors), 0);
        assert_string_equal(c->imds.endpoint, "http://127.0.0.1:1234"); /* '/' dropped */
        assert_int_equal(c->imds.token_ttl, 60);
        assert_int_equal(c->imds.timeout_ms, 50);
        assert_int_equal(c->imds.retries, 0);
        assert_true(c->imds.allow_v1);
        assert_string_equal(c->aws.region, "eu-west-1");
        assert_string_equal(c->aws.endpoint_autoscaling, "http://127.0.0.1:9");
        assert_string_equal(c->aws.endpoint_ec2, "https://e.example");
        assert_string_equal(c->aws.endpoint_cloudwatch, "http://[::1]:7");
        assert_string_equal(c->aws.ca_file, "/dev/null");
        assert_true(c->aws.fips);
        assert_int_equal(c->aws.timeout_ms, 100);
        assert_int_equal(c->aws.max_attempts, 10);
        assert_string_equal(c->plugins.user, "nobody");
        assert_int_equal(c->plugins.concurrency, 2);
        assert_int_equal(c->plugins.timeout_state, NAGIOS_WARNING);
        assert_true(c->policy.grace_period == 0.0 && c->policy.dry_run);
        assert_int_equal(c->policy.action, REPLACE_TERMINATE_IN_ASG);
        assert_false(c->policy.max_unhealthy.percent);
        assert_int_equal(c->policy.max_unhealthy.value, 2);
        assert_true(c->policy.max_replacements_per_hour.percent);
        assert_int_equal(c->policy.max_replacements_per_hour.value, 50);
        assert_true(c->policy.jitter == 0.25 && c->policy.confirm_interval == 5.0);
        assert_int_equal(c->policy.standalone_action, REPLACE_TERMINATE);
        assert_false(c->metrics.enabled);
        assert_string_equal(c->metrics.namespace, "My/App");
        assert_true(c->metrics.interval == 10.0);
        assert_true(c->metrics.high_resolution && c->metrics.per_instance);
        assert_int_equal(c->metrics.buffer_max, 5);
        assert_int_equal(strv_length(c->metrics.sinks), 2);
        assert_string_equal(c->metrics.statsd, "[::1]:9125");
        assert_string_equal(c->metrics.statsd_prefix, "prod.web");
        assert_int_equal(c->metrics.statsd_tags, STATSD_TAGS_DOGSTATSD);
        /* enabled = false turns every sink off, whatever sinks lists */
        assert_false(config_metrics_sink(c, "statsd") || config_metrics_sink(c, "cloudwatch"));
        assert_string_equal(c->hooks.dir, "/tmp/hooks");
        assert_true(c->hooks.timeout == 30.0 && c->hooks.heartbeat_interval == 10.0);
        assert_string_equal(c->hooks.terminate_hook_name, "drain");
        assert_string_equal(c->hooks.launch_hook_name, "bootstrap");
        assert_true(c->hooks.abandon_on_failure);
        /* hooks run as the plugin user unless set, even when plugins comes later */
        assert_string_equal(c->hooks.user, "nobody");
        assert_string_equal(c->hooks.group, "nogroup");
        assert_true(c->hooks.poll_interval == 1.0 && c->hooks.launch_timeout == 100.0);
        assert_int_equal(strv_length(c->hooks.replace_on), 2);
        assert_string_equal(c->hooks.replace_on[1], "system-maintenance");
        assert_string_equal(c->status.group, "root");
        assert_int_equal(strv_length(c->http.listen), 2);
        assert_string_equal(c->http.listen[1], "[::1]:9100");
        assert_int_equal(strv_length(c->http.allow), 1);
        assert_true(c->http.drain_delay == 30.0);

        assert_int_equal(c->n_checks, 2);
        w = config_find_check(c, "web");
        d = config_find_check(c, "db");
        assert_ptr_equal(w, &c->checks[0]);
        assert_ptr_equal(d, &c->checks[1]);
        assert_null(config_find_check(c, "nope"));
        assert_int_equal(w->role, CHECK_ROLE_READINESS);
        assert_int_equal(strv_length(w->command), 3);
        assert_string_equal(w->command[2], "x");
        assert_true(w->interval == 10.0 && w->timeout == 2.5 && w->kill_grace == 1.0);
        assert_int_equal(w->fall, 5);
        assert_int_equal(w->rise, 4);
        assert_string_equal(w->user, "root");
        assert_string_equal(w->group, "root");
        assert_int_equal(w->max_output, 1024);
        assert_int_equal(w->timeout_state, NAGIOS_UNKNOWN);
        assert_true(w->has_remediation);
        assert_string_equal(w->remediate.restart_unit, "nginx.service");
        assert_string_equal(w->remediate.exec[1], "x");
        assert_int_equal(w->remediate.attempts, 0);
        assert_true(w->remediate.window == 60.0 && w->remediate.backoff == 1.5);
        assert_true(w->remediate.delay == 0.0 && w->remediate.settle == 20.0);
        assert_int_equal(w->line, 2);
        /* a check without overrides takes the plugin defaults, wherever they are set */
        assert_int_equal(d->role, CHECK_ROLE_DEPENDENCY);
        assert_true(d->timeout == 3.0 && d->kill_grace == 0.5);
        assert_string_equal(d->user, "nobody");
        assert_string_equal(d->group, "nogroup");
        assert_int_equal(d->max_output, 4096);
        assert_int_equal(d->timeout_state, NAGIOS_WARNING);
        assert_int_equal(d->line, 7);
}

static void test_check_equal(void **state) {
        _cleanup_(config_freep) Config *a = NULL, *b = NULL;
        ConfigErrors errors = {};

        assert_int_equal(config_load_string(full_config, "a", 0, &a, &errors), 0);
        /* the same checks moved by a line, in another file: still equal */
        _cleanup_free_ char *moved = NULL;
        assert_true(asprintf(&moved, "\n%s", full_config) > 0);
        assert_int_equal(config_load_string(moved, "b", 0, &b, &errors), 0);
        assert_int_not_equal(a->checks[0].line, b->checks[0].line);
        assert_true(check_config_keeps_state(&a->checks[0], &b->checks[0]));
        assert_false(check_config_keeps_state(&a->checks[0], &b->checks[1]));
        /* One key of the schedule or the remediation: the state stays (a failed check is
         * not made to fail all over again by a reload that edits its interval). */
        b->checks[0].remediate.settle = 21;
        b->checks[0].interval = 99;
        b->checks[0].fall = 7;
        assert_true(check_config_keeps_state(&a->checks[0], &b->checks[0]));
        /* What its results mean: the command (a fix to a bad check), the role, the
         * timeout_state: it starts fresh. */
        b->checks[0].role = CHECK_ROLE_DEPENDENCY;
        assert_false(check_config_keeps_state(&a->checks[0], &b->checks[0]));
        b->checks[0].role = a->checks[0].role;
        b->checks[0].timeout_state =
                a->checks[0].timeout_state == NAGIOS_UNKNOWN ? NAGIOS_OK : NAGIOS_UNKNOWN;
        assert_false(check_config_keeps_state(&a->checks[0], &b->checks[0]));
        b->checks[0].timeout_state = a->checks[0].timeout_state;
        free(b->checks[0].command[2]);
        b->checks[0].command[2] = strdup("y");
        assert_false(check_config_keeps_state(&a->checks[0], &b->checks[0]));
        assert_int_equal(errors.n, 0);
}

static void test_strings(void **state) {
        ConfigError e1 = { .file = (char *) "a.conf", .line = 3, .message = (char *) "bad" };
        ConfigError e2 = { .file = (char *) "a.conf", .line = 0, .message = (char *) "bad" };
        ConfigError e3 = { .file = NULL, .line = 0, .message = (char *) "bad" };
        _cleanup_free_ char *s1 = config_error_format(&e1), *s2 = config_error_format(&e2),
                            *s3 = config_error_format(&e3);

        assert_string_equal(s1, "a.conf:3: bad");
        assert_string_equal(s2, "a.conf: bad");
        assert_string_equal(s3, "bad");
        assert_string_equal(check_role_to_string(CHECK_ROLE_LIVENESS), "liveness");
        assert_string_equal(check_role_to_string(CHECK_ROLE_DEPENDENCY), "dependency");
        assert_null(check_role_to_string(_CHECK_ROLE_MAX));
        assert_string_equal(replace_action_to_string(REPLACE_TERMINATE_IN_ASG), "terminate-in-asg");
        assert_string_equal(replace_action_to_string(REPLACE_NONE), "none");
        assert_null(replace_action_to_string(_REPLACE_ACTION_MAX));
}

static void write_at(const char *dir, const char *name, const char *text, mode_t mode) {
        char path[256];
        int fd;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        assert_int_equal(fchmod(fd, mode), 0);
        close(fd);
}

static char *make_tree(void) {
        char tmpl[] = "/tmp/drover-config-XXXXXX", sub[300];
        char *dir = strdup(mkdtemp(tmpl));

        assert_non_null(dir);
        snprintf(sub, sizeof(sub), "%s/conf.d", dir);
        assert_int_equal(mkdir(sub, 0755), 0);
        return dir;
}

static void remove_tree(char *dir) {
        char cmd[300];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        assert_int_equal(system(cmd), 0);
        free(dir);
}

/* tmpl with every "%s" replaced by dir. */
static char *subst(const char *tmpl, const char *dir) {
        char *out = calloc(1, strlen(tmpl) * 2 + strlen(dir) * 4 + 1), *o = out;

        assert_non_null(out);
        for (const char *p = tmpl; *p;) {
                if (strneq(p, "%s", 2)) {
                        o = stpcpy(o, dir);
                        p += 2;
                } else
                        *o++ = *p++;
        }
        return out;
}

/* Loads dir/drover.conf; asserts the result and the exact messages (with dir as %s). */
static void expect_tree(const char *dir, unsigned flags, int want_r, const char *const *want,
                        Config **ret) {
        _cleanup_(config_freep) Config *c = NULL;
        ConfigErrors errors = { .n = 0 };
        char path[300];
        size_t n_want = 0;
        int r;

        snprintf(path, sizeof(path), "%s/drover.conf", dir);
        r = config_load(path, flags, &c, &errors);
        while (want[n_want])
                n_want++;
        for (size_t i = 0; i < errors.n; i++) {
                _cleanup_free_ char *s = config_error_format(&errors.items[i]), *w = NULL;
                if (i < n_want)
                        w = subst(want[i], dir);
                if (!w || !streq(s, w))
                        fail_msg("error %zu: got  '%s'\n          want '%s'", i, s, strempty(w));
        }
        assert_int_equal(errors.n, n_want);
        assert_int_equal(r, want_r);
        if (ret)
                *ret = TAKE_PTR(c);
        config_errors_clear(&errors);
}

static void test_dropins(void **state) {
        char *dir = make_tree(), sub[300];
        _cleanup_(config_freep) Config *c = NULL;
        const char *none[] = { NULL };

        snprintf(sub, sizeof(sub), "%s/conf.d", dir);
        write_at(dir, "drover.conf",
                 "imds: { retries = 1; };\nchecks = ( { name = \"m\"; " OK_CHECK "} );\n", 0644);
        write_at(sub, "20-b.conf",
                 "checks = ( { name = \"b\"; " OK_CHECK "} );\nimds: { timeout_ms = 7; };\n", 0644);
        write_at(sub, "10-a.conf",
                 "checks = ( { name = \"a\"; " OK_CHECK "} );\nplugins: { user = \"nobody\"; };\n",
                 0644);
        write_at(sub, "README", "not a config", 0644);
        write_at(sub, ".hidden.conf", "garbage {", 0644);
        write_at(sub, "30-c.conf.disabled", "garbage {", 0644);
        expect_tree(dir, 0, 0, none, &c);
        assert_int_equal(c->n_checks, 3);
        assert_string_equal(c->checks[0].name, "m");
        assert_string_equal(c->checks[1].name, "a");
        assert_string_equal(c->checks[2].name, "b");
        assert_true(strstr(c->checks[2].file, "/conf.d/20-b.conf") != NULL);
        assert_int_equal(c->imds.retries, 1); /* sections merge key by key */
        assert_int_equal(c->imds.timeout_ms, 7);
        assert_string_equal(c->checks[0].user, "nobody"); /* a drop-in's defaults apply to all */
        assert_string_equal(c->hooks.user, "nobody");
        remove_tree(dir);
}

static void test_dropin_conflicts(void **state) {
        char *dir = make_tree(), sub[300];
        const char *want[] = {
                "%s/conf.d/a.conf:3: policy.dry_run already set at %s/drover.conf:2",
                "%s/conf.d/a.conf:4: check 'm' is already defined at %s/drover.conf:3",
                "%s/conf.d/b.conf:2: syntax error: retries has no value before '}'",
                "%s/conf.d/dir.conf: not a regular file",
                NULL,
        };

        snprintf(sub, sizeof(sub), "%s/conf.d", dir);
        write_at(dir, "drover.conf",
                 "policy: {\n dry_run = true; };\nchecks = ( { name = \"m\"; " OK_CHECK "} );\n",
                 0644);
        write_at(sub, "a.conf",
                 "\n\npolicy: { dry_run = false; };\nchecks = ( { name = \"m\"; " OK_CHECK "} );\n",
                 0644);
        write_at(sub, "b.conf", "imds: {\n  retries = }", 0644);
        snprintf(sub, sizeof(sub), "%s/conf.d/dir.conf", dir);
        assert_int_equal(mkdir(sub, 0755), 0);
        expect_tree(dir, 0, -EINVAL, want, NULL);
        remove_tree(dir);
}

static void test_missing_files(void **state) {
        char *dir = make_tree(), sub[300];
        const char *missing[] = { "%s/drover.conf: cannot read: No such file or directory", NULL };
        const char *none[] = { NULL };

        expect_tree(dir, 0, -ENOENT, missing, NULL);
        /* no conf.d at all is fine */
        snprintf(sub, sizeof(sub), "%s/conf.d", dir);
        assert_int_equal(rmdir(sub), 0);
        write_at(dir, "drover.conf", "", 0644);
        expect_tree(dir, 0, 0, none, NULL);
        remove_tree(dir);
}

static void test_executables(void **state) {
        char *dir = make_tree(), text[2048];
        const char *want[] = {
                "%s/drover.conf:1: check 'a': cannot run %s/missing: No such file or directory",
                "%s/drover.conf:2: check 'b': %s/noexec is not executable",
                "%s/drover.conf:3: check 'c': %s/conf.d is not a regular file",
                "%s/drover.conf:4: check 'd': cannot run %s/gone: No such file or directory",
                NULL,
        };
        const char *none[] = { NULL };

        write_at(dir, "noexec", "#!/bin/sh\n", 0644);
        write_at(dir, "plugin", "#!/bin/sh\n", 0755);
        snprintf(text, sizeof(text),
                 "checks = ( { name = \"a\"; command = [ \"%s/missing\" ]; },\n"
                 "{ name = \"b\"; command = [ \"%s/noexec\" ]; },\n"
                 "{ name = \"c\"; command = [ \"%s/conf.d\" ]; },\n"
                 "{ name = \"d\"; command = [ \"%s/plugin\" ]; remediate = { exec = [ \"%s/gone\" "
                 "]; }; },\n"
                 "{ name = \"e\"; shell = true; command = \"exit 0\"; } );\n",
                 dir, dir, dir, dir, dir);
        write_at(dir, "drover.conf", text, 0644);
        /* a running agent loads it: those checks report UNKNOWN until the files appear */
        expect_tree(dir, 0, 0, none, NULL);
        expect_tree(dir, CONFIG_LOAD_CHECK_EXECUTABLES, -EINVAL, want, NULL);
        remove_tree(dir);
}

static void test_trusted(void **state) {
        char *dir, sub[300], text[512];
        const char *want[] = {
                "%s/drover.conf: refusing to use it: writable by group or others",
                "%s/drover.conf:1: check 'a': refusing to run %s/plugin: file %s/plugin is "
                "writable by group or others",
                /* the directory counts, not only the file: its owner could swap it */
                "%s/drover.conf:2: check 'b': refusing to run %s/theirs/plugin: directory "
                "%s/theirs is not owned by root (uid 65534)",
                "%s/conf.d/a.conf: refusing to use it: not owned by root",
                "%s/conf.d: refusing to use it: writable by group or others",
                NULL,
        };
        const char *none[] = { NULL };

        if (geteuid() != 0)
                return; /* file_check_trusted only judges when drover runs as root */
        dir = make_tree();
        snprintf(sub, sizeof(sub), "%s/conf.d", dir);
        write_at(dir, "plugin", "#!/bin/sh\n", 0777);
        snprintf(sub, sizeof(sub), "%s/theirs", dir);
        assert_int_equal(mkdir(sub, 0755), 0);
        write_at(sub, "plugin", "#!/bin/sh\n", 0755);
        assert_int_equal(chown(sub, 65534, 65534), 0);
        snprintf(text, sizeof(text),
                 "checks = ( { name = \"a\"; command = [ \"%s/plugin\" ]; },\n"
                 "{ name = \"b\"; command = [ \"%s/theirs/plugin\" ]; } );\n",
                 dir, dir);
        write_at(dir, "drover.conf", text, 0666);
        snprintf(sub, sizeof(sub), "%s/conf.d", dir);
        write_at(sub, "a.conf", "", 0644);
        snprintf(sub, sizeof(sub), "%s/conf.d/a.conf", dir);
        assert_int_equal(chown(sub, 65534, 65534), 0);
        snprintf(sub, sizeof(sub), "%s/conf.d", dir);
        assert_int_equal(chmod(sub, 0777), 0);
        expect_tree(dir, 0, 0, none, NULL);
        expect_tree(dir, CONFIG_LOAD_REQUIRE_TRUSTED, -EINVAL, want, NULL);
        remove_tree(dir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_broken),        cmocka_unit_test(test_valid_variants),
                cmocka_unit_test(test_defaults),      cmocka_unit_test(test_default_users),
                cmocka_unit_test(test_resolved_ids),  cmocka_unit_test(test_every_key),
                cmocka_unit_test(test_check_equal),   cmocka_unit_test(test_strings),
                cmocka_unit_test(test_dropins),       cmocka_unit_test(test_dropin_conflicts),
                cmocka_unit_test(test_missing_files), cmocka_unit_test(test_executables),
                cmocka_unit_test(test_trusted),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
