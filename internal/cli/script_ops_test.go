package cli

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

// cronLine is a job line of a cron.d file: five time fields, a user, the command.
var cronLine = regexp.MustCompile(`^\S+\s+\S+\s+\S+\s+\S+\s+\S+\s+\S+\s+(.+)$`)

// cronEnv is a variable assignment line of a cron.d file.
var cronEnv = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)

// documentedJobs extracts the commands of a crontab (cron.d format) or the
// ExecStart lines of a systemd unit, exactly as written, with the one change
// cron itself makes: "\%" becomes "%", and the unit's /usr/local/bin/
// dropped from the binary's path.
func documentedJobs(ts *testscript.TestScript, file string) []string {
	var jobs []string
	for _, line := range strings.Split(ts.ReadFile(file), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "ExecStart="):
			// The unit names the installed binary ('make install' sets its
			// directory); the script runs the one under test.
			jobs = append(jobs, strings.TrimPrefix(strings.TrimPrefix(line, "ExecStart="), "/usr/local/bin/"))
		case strings.HasSuffix(file, ".service") || strings.HasSuffix(file, ".timer") || strings.HasPrefix(line, "["):
		case cronEnv.MatchString(line):
		default:
			m := cronLine.FindStringSubmatch(line)
			if m == nil {
				ts.Fatalf("%s: not a cron job line: %s", file, line)
			}
			jobs = append(jobs, strings.ReplaceAll(m[1], `\%`, "%"))
		}
	}
	if len(jobs) == 0 {
		ts.Fatalf("%s has no jobs", file)
	}
	return jobs
}

// jobs FILE [MATCH CODE] runs, with /bin/sh as cron and systemd do, every
// documented job in FILE and checks it exits 0; with MATCH and CODE, only the
// jobs containing MATCH, which must exit with CODE. The environment the
// jobs' files name (ENVELOPE, BACKUPS, …) comes from the script.
func cmdJobs(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 && len(args) != 3 {
		ts.Fatalf("usage: jobs FILE [MATCH CODE]")
	}
	want, match := 0, ""
	if len(args) == 3 {
		match = args[1]
		var err error
		want, err = strconv.Atoi(args[2])
		ts.Check(err)
	}
	ran := 0
	for _, job := range documentedJobs(ts, args[0]) {
		if !strings.Contains(job, match) {
			continue
		}
		ran++
		got := exitStatus(ts, job, ts.Exec("sh", "-c", job))
		if got != want {
			ts.Fatalf("job %q exited %d, want %d\nstdout: %s\nstderr: %s", job, got, want, ts.ReadFile("stdout"), ts.ReadFile("stderr"))
		}
		ts.Logf("ok (exit %d): %s", got, job)
	}
	if ran == 0 {
		ts.Fatalf("no job in %s matches %q", args[0], match)
	}
}
