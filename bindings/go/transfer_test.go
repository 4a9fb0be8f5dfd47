package bgcopy_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bgcopy "github.com/bgcopy/bgcopy-go"
)

const MiB = 1024 * 1024

var uniqCounter atomic.Int64

// uniq makes a fresh fault-injection target (the server counts per target), so a test run
// again in the same process (-count=N) gets the same faults again.
func uniq(name string) string {
	return fmt.Sprintf("go-%s-%d", name, uniqCounter.Add(1))
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitState(t *testing.T, job *bgcopy.Job, want bgcopy.JobState) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	got, err := job.Wait(ctx)
	if err != nil {
		t.Fatalf("Wait: %v (state %v)", err, got)
	}
	if got != want {
		jerr, _ := job.JobError()
		t.Fatalf("state %v, want %v (job error: %v)", got, want, jerr)
	}
}

func leftoverTemps(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".bgcopy-") {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestHTTPDownloadIsByteIdentical(t *testing.T) {
	defer rescue(t)
	m := openMemory(t)
	dir := t.TempDir()
	dest := filepath.Join(dir, "full.bin")
	u := srv.url("/data/3m/full?seed=7&t=" + uniq("full"))
	job := must(m.CreateJob("full download"))
	defer job.Close()
	if err := job.AddFile(u, dest); err != nil {
		t.Fatal(err)
	}
	f := must(job.File(0))
	if f.RemoteName != u || f.LocalName != dest || f.BytesTotal != bgcopy.SizeUnknown || f.TempName != "" {
		t.Fatalf("file before transfer: %+v", f)
	}
	if err := job.Resume(); err != nil {
		t.Fatal(err)
	}
	waitState(t, job, bgcopy.StateTransferred)
	p := must(job.Progress())
	if p.BytesTotal != 3*MiB || p.BytesTransferred != 3*MiB || p.FilesTotal != 1 || p.FilesTransferred != 1 {
		t.Fatalf("progress %+v", p)
	}
	if _, err := os.Stat(dest); !os.IsNotExist(err) {
		t.Fatal("the destination exists before Complete")
	}
	if r := must(job.Complete()); r != bgcopy.CompleteOK {
		t.Fatalf("complete: %v", r)
	}
	if s := must(job.State()); s != bgcopy.StateAcknowledged {
		t.Fatalf("state %v", s)
	}
	files := must(job.Files())
	if len(files) != 1 || !files[0].Completed || files[0].TempName != "" {
		t.Fatalf("files %+v", files)
	}
	if ts := must(job.Times()); ts.TransferCompletion.IsZero() {
		t.Fatal("no transfer completion time")
	}
	assertContent(t, dest, 3*MiB, 7)
	if l := leftoverTemps(t, dir); len(l) > 0 {
		t.Fatalf("temp files left: %v", l)
	}
}

func TestFileURLCopy(t *testing.T) {
	defer rescue(t)
	m := openMemory(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "source.bin")
	data := content(2*MiB+123, 3, 0)
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(dir, "copy.bin")
	job := must(m.CreateJob("copy"))
	defer job.Close()
	if err := job.AddFile((&url.URL{Scheme: "file", Path: src}).String(), dest); err != nil {
		t.Fatal(err)
	}
	job.Resume()
	waitState(t, job, bgcopy.StateTransferred)
	must(job.Complete())
	assertContent(t, dest, 2*MiB+123, 3)
}

func TestPartialComplete(t *testing.T) {
	defer rescue(t)
	m := openMemory(t)
	dir := t.TempDir()
	first, second := filepath.Join(dir, "first"), filepath.Join(dir, "second")
	job := must(m.CreateJob("partial"))
	defer job.Close()
	job.SetPriority(bgcopy.PriorityForeground)
	if err := job.AddFile(srv.url("/data/64k/p1?t="+uniq("partial")), first); err != nil {
		t.Fatal(err)
	}
	// 1 MiB at 64 KiB/s: still in flight when Complete is called
	if err := job.AddFile(srv.url("/data/1m/p2?trickle=65536&t="+uniq("partial")), second); err != nil {
		t.Fatal(err)
	}
	job.Resume()
	waitFor(t, "the first file", func() bool { p, _ := job.Progress(); return p.FilesTransferred >= 1 })
	if r := must(job.Complete()); r != bgcopy.CompletePartial {
		t.Fatalf("complete: %v, want PARTIAL", r)
	}
	assertContent(t, first, 64*1024, 0)
	if _, err := os.Stat(second); !os.IsNotExist(err) {
		t.Fatal("the unfinished file was kept")
	}
	if l := leftoverTemps(t, dir); len(l) > 0 {
		t.Fatalf("temp files left: %v", l)
	}
}

func TestCancelDeletesTempFiles(t *testing.T) {
	defer rescue(t)
	m := openMemory(t)
	dir := t.TempDir()
	job := must(m.CreateJob("cancel"))
	defer job.Close()
	if err := job.AddFile(srv.url("/data/4m?trickle=262144&t="+uniq("cancel")), filepath.Join(dir, "c.bin")); err != nil {
		t.Fatal(err)
	}
	job.Resume()
	waitFor(t, "first bytes", func() bool { p, _ := job.Progress(); return p.BytesTransferred > 0 })
	temp := must(job.File(0)).TempName
	if temp == "" {
		t.Fatal("no temp file while transferring")
	}
	if r := must(job.Cancel()); r != bgcopy.CompleteOK {
		t.Fatalf("cancel: %v", r)
	}
	if s := must(job.State()); s != bgcopy.StateCancelled {
		t.Fatalf("state %v", s)
	}
	if _, err := os.Stat(temp); !os.IsNotExist(err) {
		t.Fatal("the temp file is still there")
	}
	if l := leftoverTemps(t, dir); len(l) > 0 {
		t.Fatalf("temp files left: %v", l)
	}
}

func TestSuspendAndResumeWithRange(t *testing.T) {
	defer rescue(t)
	m := openMemory(t)
	dir := t.TempDir()
	dest := filepath.Join(dir, "resumed.bin")
	const path = "/data/2m/go-resumed"
	job := must(m.CreateJob("suspend"))
	defer job.Close()
	job.AddFile(srv.url(path+"?trickle=524288&t="+uniq("suspend")), dest)
	job.Resume()
	waitFor(t, "256 KiB", func() bool { p, _ := job.Progress(); return p.BytesTransferred >= 256*1024 })
	if err := job.Suspend(); err != nil {
		t.Fatal(err)
	}
	kept := must(job.Progress()).BytesTransferred
	time.Sleep(300 * time.Millisecond)
	if now := must(job.Progress()).BytesTransferred; now != kept {
		t.Fatalf("bytes moved while suspended: %d -> %d", kept, now)
	}
	job.Resume()
	waitState(t, job, bgcopy.StateTransferred)
	must(job.Complete())
	assertContent(t, dest, 2*MiB, 0)
	if st := srv.stats(t, path); len(st.Ranges) == 0 {
		t.Fatalf("no Range request after resume: %+v", st)
	}
}

func TestHTTP404IsAJobError(t *testing.T) {
	defer rescue(t)
	m := openMemory(t)
	job := must(m.CreateJob("not found"))
	defer job.Close()
	job.AddFile(srv.url("/nothing/here"), filepath.Join(t.TempDir(), "x"))
	job.Resume()
	waitState(t, job, bgcopy.StateError)
	jerr := must(job.JobError())
	if jerr == nil {
		t.Fatal("no job error in ERROR")
	}
	if jerr.Code != bgcopy.BG_E_HTTP_ERROR_404 || jerr.HTTPStatus() != 404 || jerr.Context != bgcopy.ContextRemoteFile || jerr.FileIndex != 0 {
		t.Fatalf("job error %+v", jerr)
	}
	var err error = jerr
	if !errors.Is(err, bgcopy.ErrHTTP) || errors.Is(err, bgcopy.ErrNotFound) {
		t.Fatalf("errors.Is on the job error: %v", err)
	}
	var e *bgcopy.Error
	if !errors.As(err, &e) || e.HTTPStatus() != 404 {
		t.Fatalf("errors.As: %v", err)
	}
	if n := must(job.ErrorCount()); n < 1 {
		t.Fatalf("error count %d", n)
	}
	must(job.Cancel())
}

func TestTransientErrorIsRetried(t *testing.T) {
	defer rescue(t)
	m := openMemory(t)
	dest := filepath.Join(t.TempDir(), "retry.bin")
	job := must(m.CreateJob("transient"))
	defer job.Close()
	job.SetMinimumRetryDelay(0)
	job.AddFile(srv.url("/data/100k?status=503&status_times=1&t="+uniq("transient")), dest)
	job.Resume()
	waitState(t, job, bgcopy.StateTransferred)
	if n := must(job.ErrorCount()); n < 1 {
		t.Fatalf("error count %d", n)
	}
	must(job.Complete())
	assertContent(t, dest, 100*1024, 0)
}

func TestWaitHonoursContext(t *testing.T) {
	defer rescue(t)
	m := openMemory(t)
	job := must(m.CreateJob("slow"))
	defer job.Close()
	job.AddFile(srv.url("/data/1m?trickle=32768&t="+uniq("slowwait")), filepath.Join(t.TempDir(), "slow"))
	job.Resume()

	ctx, cancel := context.WithTimeout(context.Background(), 250*time.Millisecond)
	defer cancel()
	start := time.Now()
	state, err := job.Wait(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || state.IsSettled() {
		t.Fatalf("Wait with a deadline: %v, %v", state, err)
	}
	if el := time.Since(start); el < 200*time.Millisecond || el > 3*time.Second {
		t.Fatalf("Wait returned after %v", el)
	}

	ctx2, cancel2 := context.WithCancel(context.Background())
	go func() { time.Sleep(100 * time.Millisecond); cancel2() }()
	start = time.Now()
	if _, err := job.Wait(ctx2); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait with a cancelled context: %v", err)
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Fatalf("cancellation noticed after %v", el)
	}

	if _, err := job.Cancel(); err != nil {
		t.Fatal(err)
	}
	if s, err := job.WaitTimeout(10 * time.Second); err != nil || s != bgcopy.StateCancelled {
		t.Fatalf("after cancel: %v %v", s, err)
	}
}

// A job of a state directory outlives its manager: reopened, it resumes where it stopped.
func TestResumeAfterReopeningTheManager(t *testing.T) {
	defer rescue(t)
	dir := t.TempDir()
	stateDir := filepath.Join(dir, "state")
	dest := filepath.Join(dir, "survivor.bin")
	const path = "/data/2m/go-reopen"
	m, err := bgcopy.Open(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	job := must(m.CreateJob("survives a close"))
	id := job.ID()
	job.AddFile(srv.url(path+"?trickle=524288&t="+uniq("reopen")), dest)
	job.Resume()
	waitFor(t, "256 KiB", func() bool { p, _ := job.Progress(); return p.BytesTransferred >= 256*1024 })
	job.Suspend()
	kept := must(job.Progress()).BytesTransferred
	job.Close()
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	m2, err := bgcopy.Open(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	again, err := m2.GetJob(id)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if s := must(again.State()); s != bgcopy.StateSuspended {
		t.Fatalf("state after reopening: %v", s)
	}
	if p := must(again.Progress()); p.BytesTransferred != kept {
		t.Fatalf("bytes after reopening %d, before %d", p.BytesTransferred, kept)
	}
	again.Resume()
	waitState(t, again, bgcopy.StateTransferred)
	must(again.Complete())
	assertContent(t, dest, 2*MiB, 0)
	if st := srv.stats(t, path); len(st.Ranges) == 0 {
		t.Fatalf("the reopened job did not continue with a Range request: %+v", st)
	}
}

// 100 goroutines share one manager: each downloads its own file, while others list jobs and
// read properties, and several wait on one shared job. Run under -race.
func TestHundredGoroutinesOneManager(t *testing.T) {
	defer rescue(t)
	m := openMemory(t)
	dir := t.TempDir()

	shared := must(m.CreateJob("shared"))
	defer shared.Close()
	shared.AddFile(srv.url("/data/512k?trickle=2097152&t="+uniq("shared")), filepath.Join(dir, "shared"))

	var wg sync.WaitGroup
	var failures atomic.Int32
	errs := make(chan error, 200)
	fail := func(err error) {
		failures.Add(1)
		errs <- err
	}
	stop := make(chan struct{})

	// observers
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				jobs, err := m.Jobs()
				if err != nil {
					fail(fmt.Errorf("Jobs: %w", err))
					return
				}
				for _, j := range jobs {
					if _, err := j.State(); err != nil {
						fail(err)
					}
					j.Progress()
					j.Files()
					j.DisplayName()
					j.Close()
				}
			}
		}()
	}
	// waiters on the shared job
	sharedStates := make(chan bgcopy.JobState, 6)
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := shared.WaitTimeout(120 * time.Second)
			if err != nil {
				fail(err)
			}
			sharedStates <- s
		}()
	}
	shared.Resume()

	// downloaders
	var dl sync.WaitGroup
	for i := 0; i < 90; i++ {
		dl.Add(1)
		go func(i int) {
			defer dl.Done()
			dest := filepath.Join(dir, fmt.Sprintf("g%d", i))
			size := 16*1024 + i
			job, err := m.CreateJob(fmt.Sprintf("goroutine %d", i))
			if err != nil {
				fail(err)
				return
			}
			defer job.Close()
			if err := job.AddFile(srv.url(fmt.Sprintf("/data/%d/g%d?seed=%d", size, i, i)), dest); err != nil {
				fail(err)
				return
			}
			if err := job.Resume(); err != nil {
				fail(err)
				return
			}
			s, err := job.WaitTimeout(120 * time.Second)
			if err != nil || s != bgcopy.StateTransferred {
				jerr, _ := job.JobError()
				fail(fmt.Errorf("goroutine %d: %v %v (%v)", i, s, err, jerr))
				return
			}
			if r, err := job.Complete(); err != nil || r != bgcopy.CompleteOK {
				fail(fmt.Errorf("goroutine %d: complete %v %v", i, r, err))
				return
			}
			data, err := os.ReadFile(dest)
			if err != nil || string(data) != string(content(size, uint64(i), 0)) {
				fail(fmt.Errorf("goroutine %d: content differs (%v)", i, err))
			}
		}(i)
	}
	dl.Wait()
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	close(sharedStates)
	for s := range sharedStates {
		if s != bgcopy.StateTransferred {
			t.Errorf("shared waiter saw %v", s)
		}
	}
	must(shared.Complete())
	if ids := must(m.JobIDs()); len(ids) != 0 {
		t.Errorf("%d jobs left", len(ids))
	}
}
