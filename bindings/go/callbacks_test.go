package bgcopy_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bgcopy "github.com/bgcopy/bgcopy-go"
)

const allEvents = bgcopy.BG_NOTIFY_JOB_TRANSFERRED | bgcopy.BG_NOTIFY_JOB_ERROR |
	bgcopy.BG_NOTIFY_JOB_MODIFICATION | bgcopy.BG_NOTIFY_FILE_TRANSFERRED

func TestCallbacksTransferredFilesModifications(t *testing.T) {
	defer rescue(t)
	m := openMemory(t)
	dir := t.TempDir()
	job := must(m.CreateJob("callbacks"))
	defer job.Close()
	must(0, job.SetNotifyFlags(allEvents))
	must(0, job.SetMinimumNotificationInterval(0))
	for i := 0; i < 3; i++ {
		must(0, job.AddFile(srv.url(fmt.Sprintf("/data/%dk/go-cb%d", 32+i, i)), filepath.Join(dir, fmt.Sprintf("cb%d", i))))
	}
	var mu sync.Mutex
	var files []uint32
	var mods int
	var lent *bgcopy.Job
	var stateInside bgcopy.JobState
	done := make(chan struct{})
	err := job.SetCallbacks(&bgcopy.Callbacks{
		Transferred: func(j *bgcopy.Job) {
			mu.Lock()
			defer mu.Unlock()
			lent = j
			stateInside, _ = j.State() // a callback may call the library
			if j.ID() != job.ID() {
				t.Errorf("callback for %v, want %v", j.ID(), job.ID())
			}
			close(done)
		},
		FileTransferred: func(j *bgcopy.Job, i uint32) {
			mu.Lock()
			files = append(files, i)
			mu.Unlock()
		},
		Modification: func(j *bgcopy.Job) {
			mu.Lock()
			mods++
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if cb := must(job.Callbacks()); cb == nil || cb.Transferred == nil || cb.Error != nil {
		t.Fatalf("Callbacks() = %+v", cb)
	}
	must(0, job.Resume())
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("no Transferred callback")
	}
	waitState(t, job, bgcopy.StateTransferred)
	mu.Lock()
	if fmt.Sprint(files) != "[0 1 2]" || mods == 0 || stateInside != bgcopy.StateTransferred {
		t.Errorf("files %v, modifications %d, state in callback %v", files, mods, stateInside)
	}
	if _, err := lent.State(); !errors.Is(err, bgcopy.ErrInvalidHandle) {
		t.Errorf("the lent job after its callback: %v", err)
	}
	mu.Unlock()
	must(0, job.SetCallbacks(nil))
	if cb := must(job.Callbacks()); cb != nil {
		t.Fatalf("after removal: %+v", cb)
	}
	must(job.Complete())
	waitFor(t, "user_data_free", func() bool { return bgcopy.RegisteredCallbacks() == 0 })
}

func TestErrorCallbackOn404(t *testing.T) {
	defer rescue(t)
	m := openMemory(t)
	job := must(m.CreateJob("callback error"))
	defer job.Close()
	must(0, job.AddFile(srv.url("/missing/go-cb"), filepath.Join(t.TempDir(), "x")))
	got := make(chan *bgcopy.JobError, 1)
	must(0, job.SetCallbacks(&bgcopy.Callbacks{Error: func(j *bgcopy.Job, e *bgcopy.JobError) { got <- e }}))
	must(0, job.Resume())
	select {
	case e := <-got:
		if e.Code != bgcopy.BG_E_HTTP_ERROR_404 || e.HTTPStatus() != 404 || e.Context != bgcopy.ContextRemoteFile || e.FileIndex != 0 {
			t.Fatalf("error callback: %+v", e)
		}
		if !errors.Is(e, bgcopy.ErrHTTP) {
			t.Fatal("errors.Is(jobError, ErrHTTP)")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no Error callback")
	}
	must(job.Cancel())
}

func TestCallbackPanicIsRecovered(t *testing.T) {
	defer rescue(t)
	m := openMemory(t)
	job := must(m.CreateJob("panics"))
	defer job.Close()
	must(0, job.AddFile(srv.url("/data/1k/go-panic"), filepath.Join(t.TempDir(), "p")))
	caught := make(chan any, 1)
	bgcopy.SetCallbackPanicHandler(func(v any) { caught <- v })
	defer bgcopy.SetCallbackPanicHandler(nil)
	must(0, job.SetCallbacks(&bgcopy.Callbacks{Transferred: func(*bgcopy.Job) { panic("from a callback") }}))
	must(0, job.Resume())
	select {
	case v := <-caught:
		if v != "from a callback" {
			t.Fatalf("recovered %v", v)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the panic never reached the handler")
	}
	waitState(t, job, bgcopy.StateTransferred) // the library went on
	must(job.Cancel())
}

func TestCallbackRegistrationReleasedOnManagerClose(t *testing.T) {
	defer rescue(t)
	m := must(bgcopy.Open(bgcopy.Memory))
	job := must(m.CreateJob("released"))
	must(0, job.SetCallbacks(&bgcopy.Callbacks{Transferred: func(*bgcopy.Job) {}}))
	if bgcopy.RegisteredCallbacks() < 1 {
		t.Fatal("no registration")
	}
	job.Close()
	m.Close()
	waitFor(t, "user_data_free after close", func() bool { return bgcopy.RegisteredCallbacks() == 0 })
}

func TestNotificationSettings(t *testing.T) {
	defer rescue(t)
	m := openMemory(t)
	job := must(m.CreateJob("settings"))
	defer job.Close()
	if d := must(job.MinimumNotificationInterval()); d != 500*time.Millisecond {
		t.Fatalf("default interval %v", d)
	}
	must(0, job.SetMinimumNotificationInterval(0))
	if d := must(job.MinimumNotificationInterval()); d != 0 {
		t.Fatalf("interval %v", d)
	}
	if r := must(job.MaxRate()); r != 0 {
		t.Fatalf("default max rate %d", r)
	}
	must(0, job.SetMaxRate(1<<20))
	if r := must(job.MaxRate()); r != 1<<20 {
		t.Fatalf("max rate %d", r)
	}
	if p := must(job.NotifyCmdLine()); p != "" {
		t.Fatalf("default notify program %q", p)
	}
	must(0, job.SetNotifyCmdLine("/bin/true", []string{"a", "b c"}))
	if p := must(job.NotifyCmdLine()); p != "/bin/true" {
		t.Fatalf("notify program %q", p)
	}
	must(0, job.SetNotifyCmdLine("", nil))
	if p := must(job.NotifyCmdLine()); p != "" {
		t.Fatalf("after removal %q", p)
	}
	if err := job.SetNotifyCmdLine("relative/program", nil); !errors.Is(err, bgcopy.ErrInvalidArg) {
		t.Fatalf("relative program: %v", err)
	}
	for _, o := range []bgcopy.Option{bgcopy.OptionBackgroundRateLimitBPS, bgcopy.OptionForegroundYieldPercent, bgcopy.OptionTimeSliceMS, bgcopy.OptionInactivityTimeoutS} {
		if _, err := m.Option(o); err != nil {
			t.Errorf("option %d: %v", o, err)
		}
	}
}

func TestNotifyCmdLineRuns(t *testing.T) {
	defer rescue(t)
	touch, err := exec.LookPath("touch")
	if err != nil {
		t.Skip("no touch(1)")
	}
	m := openMemory(t)
	dir := t.TempDir()
	marker := filepath.Join(dir, "marker")
	job := must(m.CreateJob("command"))
	defer job.Close()
	must(0, job.AddFile(srv.url("/data/1k/go-cmd"), filepath.Join(dir, "c")))
	must(0, job.SetNotifyCmdLine(touch, []string{marker}))
	must(0, job.Resume())
	waitState(t, job, bgcopy.StateTransferred)
	waitFor(t, "the notify command", func() bool { _, err := os.Stat(marker); return err == nil })
	must(job.Complete())
}
