package bgcopy_test

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	bgcopy "github.com/bgcopy/bgcopy-go"
)

// Every bg_* function of the header (but bg_test_*) is called somewhere in the package.
func TestEveryHeaderFunctionIsBound(t *testing.T) {
	header, err := os.ReadFile(filepath.Join(repoRoot(), "include", "bgcopy.h"))
	if err != nil {
		t.Fatal(err)
	}
	decl := regexp.MustCompile(`(?m)^[A-Za-z_][\w \*]*?\b(bg_[a-z0-9_]+)\s*\(`)
	// Go code calls C.bg_x(...); the C helpers of the package (callbacks.c) call bg_x(...).
	var goSrc, cSrc strings.Builder
	files, _ := filepath.Glob("*.go")
	cfiles, _ := filepath.Glob("*.c")
	files = append(files, cfiles...)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(f, ".c") {
			cSrc.Write(data)
		} else {
			goSrc.Write(data)
		}
	}
	var missing []string
	seen := 0
	for _, m := range decl.FindAllStringSubmatch(string(header), -1) {
		name := m[1]
		if strings.HasPrefix(name, "bg_test_") {
			continue
		}
		seen++
		if !strings.Contains(goSrc.String(), "C."+name+"(") && !strings.Contains(cSrc.String(), name+"(") {
			missing = append(missing, name)
		}
	}
	if seen < 30 {
		t.Fatalf("found only %d functions in the header", seen)
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		t.Fatalf("header functions the Go package never calls: %v", missing)
	}
}

func TestConstantsMatchTheHeader(t *testing.T) {
	header, err := os.ReadFile(filepath.Join(repoRoot(), "include", "bgcopy.h"))
	if err != nil {
		t.Fatal(err)
	}
	def := regexp.MustCompile(`(?m)^#define\s+([A-Z][A-Z0-9_]*)\s+(-?\d+)(ull)?\s*$`)
	want := map[string]int64{}
	for _, m := range def.FindAllStringSubmatch(string(header), -1) {
		v, err := strconv.ParseInt(m[2], 10, 64)
		if err != nil {
			v = -1 // UINT64_MAX
		}
		want[m[1]] = v
	}
	got := bgcopy.HeaderConstantsForTest()
	if len(got) != len(want) {
		t.Fatalf("constants.go has %d constants, the header %d: run python3 bindings/gen_constants.py", len(got), len(want))
	}
	for name, v := range want {
		if g, ok := got[name]; !ok || g != v {
			t.Errorf("%s: constants.go has %d (present %v), header %d", name, g, ok, v)
		}
	}
}

func TestVersion(t *testing.T) {
	if v := bgcopy.Version(); v != bgcopy.HeaderVersion {
		t.Fatalf("library %q, header %q", v, bgcopy.HeaderVersion)
	}
}

func TestHResult(t *testing.T) {
	h := bgcopy.BG_E_HTTP_ERROR_404
	if h.Hex() != "0x80190194" || h.Name() != "BG_E_HTTP_ERROR_404" || h.HTTPStatus() != 404 {
		t.Fatalf("%s %s %d", h.Hex(), h.Name(), h.HTTPStatus())
	}
	if !bgcopy.BG_S_PARTIAL_COMPLETE.Succeeded() || !bgcopy.E_HANDLE.Failed() {
		t.Fatal("Succeeded/Failed")
	}
	if bgcopy.BG_E_NOT_FOUND.Message() == "" || bgcopy.BG_E_INVALID_STATE.HTTPStatus() != 0 {
		t.Fatal("Message/HTTPStatus")
	}
	var err error = &bgcopy.Error{Code: bgcopy.BG_E_INVALID_STATE, Op: "bg_job_resume"}
	if !errors.Is(err, bgcopy.ErrInvalidState) || errors.Is(err, bgcopy.ErrNotFound) || errors.Is(err, bgcopy.ErrHTTP) {
		t.Fatal("errors.Is on codes")
	}
	if !strings.Contains(err.Error(), "0x80200002") || !strings.Contains(err.Error(), "bg_job_resume") {
		t.Fatal(err.Error())
	}
	http := &bgcopy.Error{Code: bgcopy.BG_E_HTTP_ERROR_503}
	if !errors.Is(http, bgcopy.ErrHTTP) || http.HTTPStatus() != 503 {
		t.Fatal("ErrHTTP")
	}
}

func TestGUID(t *testing.T) {
	m := openMemory(t)
	job, err := m.CreateJob("guid")
	if err != nil {
		t.Fatal(err)
	}
	defer job.Close()
	s := job.ID().String()
	if len(s) != 36 {
		t.Fatalf("GUID text %q", s)
	}
	for _, text := range []string{s, strings.ToUpper(s), "{" + s + "}"} {
		g, err := bgcopy.ParseGUID(text)
		if err != nil || g != job.ID() {
			t.Fatalf("ParseGUID(%q) = %v, %v", text, g, err)
		}
	}
	if _, err := bgcopy.ParseGUID("not a guid"); !errors.Is(err, bgcopy.ErrInvalidArg) {
		t.Fatalf("ParseGUID(bad): %v", err)
	}
	again, err := m.GetJob(job.ID())
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if id, err := again.LookupID(); err != nil || id != job.ID() {
		t.Fatalf("LookupID: %v %v", id, err)
	}
	if again.Handle() == job.Handle() || again.ID() != job.ID() {
		t.Fatal("GetJob should give a new handle to the same job")
	}
}

func openMemory(t *testing.T) *bgcopy.Manager {
	t.Helper()
	m, err := bgcopy.Open(bgcopy.Memory)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.SetOption(bgcopy.OptionRetryDelayFloorMS, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// must returns v, or stops the test with err: tests that use it start with defer rescue(t).
// (Go 1.19 cannot pass f()'s two results after another argument, hence the panic.)
func must[T any](v T, err error) T {
	if err != nil {
		panic(mustFailure{err})
	}
	return v
}

type mustFailure struct{ err error }

// rescue turns a must failure into t.Fatal; other panics go on.
func rescue(t *testing.T) {
	if r := recover(); r != nil {
		if f, ok := r.(mustFailure); ok {
			t.Helper()
			t.Fatal(f.err)
		}
		panic(r)
	}
}

func TestJobDefaultsAndProperties(t *testing.T) {
	defer rescue(t)
	m := openMemory(t)
	job := must(m.CreateJob("defaults"))
	defer job.Close()
	if s := must(job.State()); s != bgcopy.StateSuspended {
		t.Fatalf("state %v", s)
	}
	if ty := must(job.Type()); ty != bgcopy.JobTypeDownload {
		t.Fatalf("type %v", ty)
	}
	if p := must(job.Priority()); p != bgcopy.PriorityNormal {
		t.Fatalf("priority %v", p)
	}
	if n := must(job.DisplayName()); n != "defaults" {
		t.Fatalf("name %q", n)
	}
	if d := must(job.MinimumRetryDelay()); d != 600*time.Second {
		t.Fatalf("retry delay %v", d)
	}
	if d := must(job.NoProgressTimeout()); d != 1209600*time.Second {
		t.Fatalf("no-progress timeout %v", d)
	}
	if d := must(job.MaximumDownloadTime()); d != 7776000*time.Second {
		t.Fatalf("max download time %v", d)
	}
	if f := must(job.NotifyFlags()); f != bgcopy.BG_NOTIFY_JOB_TRANSFERRED|bgcopy.BG_NOTIFY_JOB_ERROR {
		t.Fatalf("notify flags %#x", f)
	}
	if f := must(job.SecurityFlags()); f != 0 {
		t.Fatalf("security flags %#x", f)
	}
	if e := must(job.JobError()); e != nil {
		t.Fatalf("error object %v", e)
	}
	if n := must(job.ErrorCount()); n != 0 {
		t.Fatalf("error count %d", n)
	}
	if p := must(job.Progress()); p != (bgcopy.Progress{}) {
		t.Fatalf("progress %+v", p)
	}
	times := must(job.Times())
	if times.Creation.IsZero() || !times.TransferCompletion.IsZero() {
		t.Fatalf("times %+v", times)
	}

	long := strings.Repeat("d", 1000) // longer than the first string buffer
	for _, step := range []error{
		job.SetDisplayName("renamed ✓"),
		job.SetDescription(long),
		job.SetPriority(bgcopy.PriorityForeground),
		job.SetMinimumRetryDelay(7 * time.Second),
		job.SetNoProgressTimeout(0),
		job.SetMaximumDownloadTime(0),
		job.SetNotifyFlags(bgcopy.BG_NOTIFY_JOB_MODIFICATION),
		job.SetSecurityFlags(bgcopy.BG_HTTP_REDIRECT_POLICY_DISALLOW),
	} {
		if step != nil {
			t.Fatal(step)
		}
	}
	if n := must(job.DisplayName()); n != "renamed ✓" {
		t.Fatalf("name %q", n)
	}
	if d := must(job.Description()); d != long {
		t.Fatalf("description of %d bytes", len(d))
	}
	if p := must(job.Priority()); p != bgcopy.PriorityForeground {
		t.Fatalf("priority %v", p)
	}
	if d := must(job.MinimumRetryDelay()); d != 7*time.Second {
		t.Fatalf("retry delay %v", d)
	}
	if f := must(job.SecurityFlags()); f != bgcopy.BG_HTTP_REDIRECT_POLICY_DISALLOW {
		t.Fatalf("security flags %#x", f)
	}
}

func TestBadInput(t *testing.T) {
	defer rescue(t)
	m := openMemory(t)
	dir := t.TempDir()
	job := must(m.CreateJob("bad input"))
	defer job.Close()
	cases := []struct {
		name string
		err  error
		want *bgcopy.Error
	}{
		{"resume empty", job.Resume(), bgcopy.ErrEmpty},
		{"malformed url", job.AddFile("http://", filepath.Join(dir, "x")), bgcopy.ErrInvalidArg},
		{"ftp url", job.AddFile("ftp://127.0.0.1/x", filepath.Join(dir, "x")), bgcopy.ErrInvalidArg},
		{"space in url", job.AddFile("http://127.0.0.1/a b", filepath.Join(dir, "x")), bgcopy.ErrInvalidArg},
		{"NUL in string", job.SetDisplayName("a\x00b"), bgcopy.ErrInvalidArg},
		{"long name", job.SetDisplayName(strings.Repeat("n", 300)), bgcopy.ErrStringTooLong},
		{"bad priority", job.SetPriority(99), bgcopy.ErrNotImplemented},
		{"bad notify flag", job.SetNotifyFlags(0x1000), bgcopy.ErrNotImplemented},
		{"bad option", m.SetOption(999, 1), bgcopy.ErrInvalidArg},
		{"option out of range", m.SetOption(bgcopy.OptionMaxBackgroundTransfers, 0), bgcopy.ErrInvalidArg},
	}
	for _, c := range cases {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, c.err, c.want)
		}
	}
	if _, err := m.CreateJob(strings.Repeat("x", 257)); !errors.Is(err, bgcopy.ErrStringTooLong) {
		t.Errorf("create long name: %v", err)
	}
	if _, err := m.CreateJobOfType("up", bgcopy.JobTypeUpload); !errors.Is(err, bgcopy.ErrNotImplemented) {
		t.Errorf("upload job: %v", err)
	}
	err := job.AddFile("http://127.0.0.1:1/x", filepath.Join(dir, "missing", "x"))
	var e *bgcopy.Error
	if !errors.As(err, &e) || e.Code != bgcopy.BG_E_WIN32_PATH_NOT_FOUND || e.Op != "bg_job_add_file" {
		t.Errorf("missing directory: %v", err)
	}
	if n := must(job.FileCount()); n != 0 {
		t.Errorf("a failed AddFile added a file: %d", n)
	}
	file := filepath.Join(dir, "plain")
	os.WriteFile(file, []byte("x"), 0o644)
	if _, err := bgcopy.Open(file); !errors.Is(err, bgcopy.ErrStateDir) {
		t.Errorf("state dir that is a file: %v", err)
	}
}

func TestEndedJobs(t *testing.T) {
	defer rescue(t)
	m := openMemory(t)
	dir := t.TempDir()
	job := must(m.CreateJob("ended"))
	defer job.Close()
	if err := job.AddFile("http://127.0.0.1:1/x", filepath.Join(dir, "x")); err != nil {
		t.Fatal(err)
	}
	if r := must(job.Cancel()); r != bgcopy.CompleteOK {
		t.Fatalf("cancel: %v", r)
	}
	if s := must(job.State()); s != bgcopy.StateCancelled {
		t.Fatalf("state %v", s)
	}
	for name, err := range map[string]error{
		"resume":   job.Resume(),
		"suspend":  job.Suspend(),
		"add file": job.AddFile("http://127.0.0.1:1/y", filepath.Join(dir, "y")),
		"rename":   job.SetDisplayName("late"),
	} {
		if !errors.Is(err, bgcopy.ErrInvalidState) {
			t.Errorf("%s after cancel: %v", name, err)
		}
	}
	if _, err := job.Complete(); !errors.Is(err, bgcopy.ErrInvalidState) {
		t.Errorf("complete after cancel: %v", err)
	}
	if _, err := m.GetJob(job.ID()); !errors.Is(err, bgcopy.ErrNotFound) {
		t.Errorf("get ended job: %v", err)
	}
}

func TestJobsListing(t *testing.T) {
	defer rescue(t)
	m := openMemory(t)
	a := must(m.CreateJob("a"))
	b := must(m.CreateJob("b"))
	c := must(m.CreateJob("c"))
	ids := must(m.JobIDs())
	if len(ids) != 3 || ids[0] != a.ID() || ids[1] != b.ID() || ids[2] != c.ID() {
		t.Fatalf("JobIDs %v", ids)
	}
	b.Cancel()
	jobs := must(m.Jobs())
	if len(jobs) != 2 || jobs[0].ID() != a.ID() || jobs[1].ID() != c.ID() {
		t.Fatalf("Jobs %v", jobs)
	}
	for _, j := range append(jobs, a, b, c) {
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if v := must(m.Option(bgcopy.OptionMaxBackgroundTransfers)); v != 4 {
		t.Fatalf("default max background transfers %d", v)
	}
}

func TestCloseIsIdempotentAndFinalizersAreSafe(t *testing.T) {
	defer rescue(t)
	m, err := bgcopy.Open(bgcopy.Memory)
	if err != nil {
		t.Fatal(err)
	}
	j1 := must(m.CreateJob("one"))
	j2 := must(m.CreateJob("two"))
	if err := j1.Close(); err != nil {
		t.Fatal(err)
	}
	if err := j1.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if _, err := j1.State(); !errors.Is(err, bgcopy.ErrInvalidHandle) {
		t.Fatalf("closed job: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	// the manager's close invalidated j2's handle in the library
	if _, err := j2.State(); !errors.Is(err, bgcopy.ErrInvalidHandle) {
		t.Fatalf("job of a closed manager: %v", err)
	}
	if err := j2.Close(); err != nil {
		t.Fatalf("Close of an invalidated handle: %v", err)
	}
	if _, err := m.CreateJob("late"); !errors.Is(err, bgcopy.ErrInvalidHandle) {
		t.Fatalf("closed manager: %v", err)
	}
	// objects never closed are released by their finalizers; closed ones are left alone
	for i := 0; i < 50; i++ {
		mm, err := bgcopy.Open(bgcopy.Memory)
		if err != nil {
			t.Fatal(err)
		}
		for k := 0; k < 5; k++ {
			must(mm.CreateJob("garbage"))
		}
		if i%2 == 0 {
			mm.Close()
		}
	}
	for i := 0; i < 3; i++ {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}
