package bgcopy

/*
#include <stdint.h>
#include <stdlib.h>
#include <bgcopy.h>

bg_hresult bgcopy_go_set_callbacks(bg_job job, int transferred, int error, int modification,
                                   int file_transferred, uintptr_t handle);
bg_hresult bgcopy_go_get_callbacks(bg_job job, uintptr_t *out_handle, int *out_any);
*/
import "C"

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Callbacks are the functions the library calls for a job's events (bg_job_set_callbacks).
// Any of them may be nil. They run on the library's dispatcher thread, one at a time, in event
// order per job, never under a library lock; a callback may call any method. Which events fire
// depends on the job's notify flags (default BG_NOTIFY_JOB_TRANSFERRED|BG_NOTIFY_JOB_ERROR).
//
// The *Job a callback receives borrows the handle the library passes: it is valid during the
// call only (afterwards its methods return ErrInvalidHandle). Use Manager.GetJob(job.ID()) to
// keep a handle. A panic in a callback is recovered and given to the handler set with
// SetCallbackPanicHandler; it never unwinds into C.
type Callbacks struct {
	Transferred     func(job *Job)
	Error           func(job *Job, err *JobError)
	Modification    func(job *Job)
	FileTransferred func(job *Job, fileIndex uint32)
}

func (c *Callbacks) empty() bool {
	return c == nil || (c.Transferred == nil && c.Error == nil && c.Modification == nil && c.FileTransferred == nil)
}

// A registration: what user_data (a number, never a Go pointer) stands for until the library
// calls user_data_free.
type registration struct {
	cb Callbacks
	m  *Manager
	id GUID
}

var (
	regMu   sync.Mutex
	regNext uintptr
	regs    = map[uintptr]*registration{}
)

func register(r *registration) uintptr {
	regMu.Lock()
	defer regMu.Unlock()
	regNext++
	regs[regNext] = r
	return regNext
}

func lookup(key uintptr) *registration {
	regMu.Lock()
	defer regMu.Unlock()
	return regs[key]
}

func unregister(key uintptr) {
	regMu.Lock()
	defer regMu.Unlock()
	delete(regs, key)
}

// RegisteredCallbacks is how many callback registrations the library has not released yet.
func RegisteredCallbacks() int {
	regMu.Lock()
	defer regMu.Unlock()
	return len(regs)
}

var panicHandler atomic.Value // func(any)

// SetCallbackPanicHandler sets the function that receives a panic raised by a callback (nil
// restores the default, which prints it and its stack to stderr).
func SetCallbackPanicHandler(f func(v any)) {
	if f == nil {
		f = defaultPanicHandler
	}
	panicHandler.Store(f)
}

func defaultPanicHandler(v any) {
	fmt.Fprintf(os.Stderr, "bgcopy: panic in a job callback (recovered): %v\n%s", v, debug.Stack())
}

func init() { panicHandler.Store(defaultPanicHandler) }

// deliver runs f with a Job borrowing the callback's handle, and invalidates it afterwards.
func deliver(key C.uintptr_t, h C.bg_job, f func(r *registration, j *Job)) {
	r := lookup(uintptr(key))
	if r == nil {
		return
	}
	j := &Job{m: r.m, id: r.id, borrowed: true}
	j.h.Store(uint64(h))
	defer func() {
		j.h.Store(0)
		if v := recover(); v != nil {
			panicHandler.Load().(func(any))(v)
		}
	}()
	f(r, j)
}

//export goJobTransferred
func goJobTransferred(key C.uintptr_t, h C.bg_job) {
	deliver(key, h, func(r *registration, j *Job) {
		if r.cb.Transferred != nil {
			r.cb.Transferred(j)
		}
	})
}

//export goJobError
func goJobError(key C.uintptr_t, h C.bg_job, context C.bg_error_context, code C.bg_hresult, fileIndex C.uint32_t) {
	deliver(key, h, func(r *registration, j *Job) {
		if r.cb.Error == nil {
			return
		}
		idx := -1
		if uint32(fileIndex) != 0xFFFFFFFF {
			idx = int(fileIndex)
		}
		e := &JobError{Context: ErrorContext(context), Code: HResult(code), FileIndex: idx}
		if cur, err := j.JobError(); err == nil && cur != nil && cur.Code == e.Code {
			e.Description = cur.Description
		}
		r.cb.Error(j, e)
	})
}

//export goJobModification
func goJobModification(key C.uintptr_t, h C.bg_job) {
	deliver(key, h, func(r *registration, j *Job) {
		if r.cb.Modification != nil {
			r.cb.Modification(j)
		}
	})
}

//export goFileTransferred
func goFileTransferred(key C.uintptr_t, h C.bg_job, fileIndex C.uint32_t) {
	deliver(key, h, func(r *registration, j *Job) {
		if r.cb.FileTransferred != nil {
			r.cb.FileTransferred(j, uint32(fileIndex))
		}
	})
}

//export goUserDataFree
func goUserDataFree(key C.uintptr_t) {
	unregister(uintptr(key))
}

func b2i(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// SetCallbacks sets this process's callbacks for the job, replacing earlier ones; nil (or a
// Callbacks without functions) removes them.
func (j *Job) SetCallbacks(cb *Callbacks) error {
	const op = "bg_job_set_callbacks"
	h, err := j.handle(op)
	if err != nil {
		return err
	}
	defer runtime.KeepAlive(j)
	if cb.empty() {
		return check(op, C.bg_job_set_callbacks(h, nil, nil, nil))
	}
	key := register(&registration{cb: *cb, m: j.m, id: j.id})
	hr := C.bgcopy_go_set_callbacks(h, b2i(cb.Transferred != nil), b2i(cb.Error != nil),
		b2i(cb.Modification != nil), b2i(cb.FileTransferred != nil), C.uintptr_t(key))
	if hr < 0 {
		unregister(key) // nothing was taken: user_data_free will not run
		return check(op, hr)
	}
	return nil
}

// Callbacks returns the callbacks this package registered for the job in this process, or
// nil when there are none.
func (j *Job) Callbacks() (*Callbacks, error) {
	const op = "bg_job_get_callbacks"
	h, err := j.handle(op)
	if err != nil {
		return nil, err
	}
	defer runtime.KeepAlive(j)
	var key C.uintptr_t
	var anySet C.int
	if err := check(op, C.bgcopy_go_get_callbacks(h, &key, &anySet)); err != nil {
		return nil, err
	}
	if r := lookup(uintptr(key)); r != nil {
		cb := r.cb
		return &cb, nil
	}
	return nil, nil
}

// SetNotifyCmdLine sets the program run when the job reaches TRANSFERRED or ERROR and no
// callback takes the event: program (an absolute path, run directly, not through a shell)
// with args as argv[1:]. An empty program removes it. It is stored with the job.
func (j *Job) SetNotifyCmdLine(program string, args []string) error {
	const op = "bg_job_set_notify_cmd_line"
	if program == "" {
		_, err := j.call(op, func(h C.bg_job) C.bg_hresult { return C.bg_job_set_notify_cmd_line(h, nil, nil, 0) })
		return err
	}
	cprog, err := cString(op, program)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(cprog))
	var argv **C.char
	if len(args) > 0 {
		// the array and the strings live in C memory for the call
		mem := C.malloc(C.size_t(len(args)) * C.size_t(unsafe.Sizeof((*C.char)(nil))))
		defer C.free(mem)
		slots := unsafe.Slice((**C.char)(mem), len(args))
		for i := range slots {
			slots[i] = nil
		}
		defer func() {
			for _, p := range slots {
				if p != nil {
					C.free(unsafe.Pointer(p))
				}
			}
		}()
		for i, a := range args {
			if slots[i], err = cString(op, a); err != nil {
				return err
			}
		}
		argv = (**C.char)(mem)
	}
	_, err = j.call(op, func(h C.bg_job) C.bg_hresult {
		return C.bg_job_set_notify_cmd_line(h, cprog, argv, C.size_t(len(args)))
	})
	return err
}

// NotifyCmdLine is the notify program's path, "" when none is set.
func (j *Job) NotifyCmdLine() (string, error) {
	return j.getString("bg_job_get_notify_cmd_line", func(h C.bg_job, b *C.char, c C.size_t, n *C.size_t) C.bg_hresult {
		return C.bg_job_get_notify_cmd_line(h, b, c, n)
	})
}

// MinimumNotificationInterval is the least time between two Modification callbacks.
func (j *Job) MinimumNotificationInterval() (time.Duration, error) {
	ms, err := j.getU32("bg_job_get_minimum_notification_interval", func(h C.bg_job, out *C.uint32_t) C.bg_hresult {
		return C.bg_job_get_minimum_notification_interval(h, out)
	})
	return time.Duration(ms) * time.Millisecond, err
}

// SetMinimumNotificationInterval sets it (whole milliseconds; 0: every change).
func (j *Job) SetMinimumNotificationInterval(d time.Duration) error {
	ms := d / time.Millisecond
	if ms < 0 {
		ms = 0
	} else if ms > 0xFFFFFFFF {
		ms = 0xFFFFFFFF
	}
	return j.setU32("bg_job_set_minimum_notification_interval", uint32(ms), func(h C.bg_job, v C.uint32_t) C.bg_hresult {
		return C.bg_job_set_minimum_notification_interval(h, v)
	})
}

// MaxRate is the job's own bandwidth cap in bytes per second (0: none).
func (j *Job) MaxRate() (uint64, error) {
	var v C.uint64_t
	_, err := j.call("bg_job_get_max_rate", func(h C.bg_job) C.bg_hresult { return C.bg_job_get_max_rate(h, &v) })
	return uint64(v), err
}

// SetMaxRate sets the job's bandwidth cap in bytes per second (0: none).
func (j *Job) SetMaxRate(bytesPerSecond uint64) error {
	_, err := j.call("bg_job_set_max_rate", func(h C.bg_job) C.bg_hresult {
		return C.bg_job_set_max_rate(h, C.uint64_t(bytesPerSecond))
	})
	return err
}
