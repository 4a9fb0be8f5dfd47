package bgcopy

/*
#include <stdlib.h>
#include <bgcopy.h>
*/
import "C"

import (
	"context"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"
)

// waitSlice is how long one bg_job_wait call may block before Wait looks at its context.
const waitSlice = 100 * time.Millisecond

// Job is a handle to one job (bg_job). Closing it releases the handle only: the job goes on,
// as in BITS; Cancel or Complete end the job itself. Safe for concurrent use.
type Job struct {
	h        atomic.Uint64
	m        *Manager // keeps the manager (and its finalizer) alive while the job is reachable
	id       GUID
	borrowed bool // a handle the library lends to one callback: never released here
}

func newJob(m *Manager, h C.bg_job, id GUID) *Job {
	j := &Job{m: m, id: id}
	j.h.Store(uint64(h))
	runtime.SetFinalizer(j, (*Job).finalize)
	return j
}

func (j *Job) finalize() {
	if h := j.h.Swap(0); h != 0 {
		C.bg_job_release(C.bg_job(h))
	}
}

// ID is the job's persistent GUID.
func (j *Job) ID() GUID { return j.id }

// LookupID reads the job's GUID from the library (bg_job_get_id); ID returns the same value
// without a call. Useful to check that the handle is still valid.
func (j *Job) LookupID() (GUID, error) {
	var g C.struct_bg_guid
	_, err := j.call("bg_job_get_id", func(h C.bg_job) C.bg_hresult { return C.bg_job_get_id(h, &g) })
	return guidFromC(&g), err
}

// Manager is the manager the handle was opened through.
func (j *Job) Manager() *Manager { return j.m }

// Handle is the raw bg_job handle (0 once closed).
func (j *Job) Handle() uint64 { return j.h.Load() }

// Close releases the handle (idempotent). It never cancels the job. A handle that the manager
// already invalidated by closing is not an error here.
func (j *Job) Close() error {
	h := j.h.Swap(0)
	if h == 0 || j.borrowed {
		return nil
	}
	runtime.SetFinalizer(j, nil)
	hr := C.bg_job_release(C.bg_job(h))
	if HResult(hr) == E_HANDLE {
		return nil
	}
	return check("bg_job_release", hr)
}

func (j *Job) handle(op string) (C.bg_job, error) {
	h := j.h.Load()
	if h == 0 {
		return 0, &Error{Code: E_HANDLE, Op: op, Detail: "job handle is closed"}
	}
	return C.bg_job(h), nil
}

// call runs a C function that takes the job and returns a code.
func (j *Job) call(op string, f func(h C.bg_job) C.bg_hresult) (HResult, error) {
	h, err := j.handle(op)
	if err != nil {
		return 0, err
	}
	hr := f(h)
	runtime.KeepAlive(j)
	return HResult(hr), check(op, hr)
}

// AddFile adds a file: remoteURL (http://, https://, file:// or an absolute local path) is
// fetched into localPath (made absolute; its directory must exist).
func (j *Job) AddFile(remoteURL, localPath string) error {
	const op = "bg_job_add_file"
	if localPath != "" && !filepath.IsAbs(localPath) {
		if abs, err := filepath.Abs(localPath); err == nil {
			localPath = abs
		}
	}
	curl, err := cString(op, remoteURL)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(curl))
	clocal, err := cString(op, localPath)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(clocal))
	_, err = j.call(op, func(h C.bg_job) C.bg_hresult { return C.bg_job_add_file(h, curl, clocal) })
	return err
}

// AddFiles adds several files in one call (bg_job_add_file_set, BITS' AddFileSet): all of
// them or, when any pair is invalid, none. remoteURLs[i] is fetched into localPaths[i].
func (j *Job) AddFiles(remoteURLs, localPaths []string) error {
	const op = "bg_job_add_file_set"
	if len(remoteURLs) != len(localPaths) {
		return &Error{Code: HResult(E_INVALIDARG), Op: op}
	}
	n := len(remoteURLs)
	if n == 0 {
		return nil
	}
	// C arrays of C strings, allocated in C memory (no Go pointers handed to C).
	size := C.size_t(n) * C.size_t(unsafe.Sizeof((*C.char)(nil)))
	remotes := (*[1 << 28]*C.char)(C.malloc(size))[:n:n]
	locals := (*[1 << 28]*C.char)(C.malloc(size))[:n:n]
	defer C.free(unsafe.Pointer(&remotes[0]))
	defer C.free(unsafe.Pointer(&locals[0]))
	for i := 0; i < n; i++ {
		remotes[i], locals[i] = nil, nil
	}
	defer func() {
		for i := 0; i < n; i++ {
			C.free(unsafe.Pointer(remotes[i]))
			C.free(unsafe.Pointer(locals[i]))
		}
	}()
	for i := 0; i < n; i++ {
		local := localPaths[i]
		if local != "" && !filepath.IsAbs(local) {
			if abs, err := filepath.Abs(local); err == nil {
				local = abs
			}
		}
		var err error
		if remotes[i], err = cString(op, remoteURLs[i]); err != nil {
			return err
		}
		if locals[i], err = cString(op, local); err != nil {
			return err
		}
	}
	_, err := j.call(op, func(h C.bg_job) C.bg_hresult {
		return C.bg_job_add_file_set(h, C.size_t(n), &remotes[0], &locals[0])
	})
	return err
}

// Resume queues the job for transfer and returns at once; ErrEmpty without files.
func (j *Job) Resume() error {
	_, err := j.call("bg_job_resume", func(h C.bg_job) C.bg_hresult { return C.bg_job_resume(h) })
	return err
}

// Suspend stops the transfer, keeping the bytes so far.
func (j *Job) Suspend() error {
	_, err := j.call("bg_job_suspend", func(h C.bg_job) C.bg_hresult { return C.bg_job_suspend(h) })
	return err
}

// Cancel ends the job in CANCELLED, deleting its temp files (and nothing else).
func (j *Job) Cancel() (CompleteResult, error) {
	hr, err := j.call("bg_job_cancel", func(h C.bg_job) C.bg_hresult { return C.bg_job_cancel(h) })
	return CompleteResult(hr), err
}

// Complete renames every fully transferred file into place and ends the job in ACKNOWLEDGED:
// CompleteOK, CompletePartial (files in flight were discarded) or CompleteUnableToDelete. A
// failed rename returns its error and leaves the job TRANSFERRED.
func (j *Job) Complete() (CompleteResult, error) {
	hr, err := j.call("bg_job_complete", func(h C.bg_job) C.bg_hresult { return C.bg_job_complete(h) })
	return CompleteResult(hr), err
}

// Wait waits until the job is TRANSFERRED, ERROR, ACKNOWLEDGED or CANCELLED and returns that
// state. When ctx ends first it returns the current state and ctx.Err(). It calls bg_job_wait
// in short slices, so a cancelled context is noticed within about 100 ms.
func (j *Job) Wait(ctx context.Context) (JobState, error) {
	const op = "bg_job_wait"
	h, err := j.handle(op)
	if err != nil {
		return 0, err
	}
	defer runtime.KeepAlive(j)
	var state C.bg_job_state
	for {
		slice := waitSlice
		if dl, ok := ctx.Deadline(); ok {
			if left := time.Until(dl); left < slice {
				slice = left
			}
		}
		if slice < 0 {
			slice = 0
		}
		hr := C.bg_job_wait(h, C.uint32_t(slice/time.Millisecond), &state)
		if err := check(op, hr); err != nil {
			return JobState(state), err
		}
		if HResult(hr) == S_OK {
			return JobState(state), nil
		}
		select {
		case <-ctx.Done():
			return JobState(state), ctx.Err()
		default:
		}
	}
}

// WaitTimeout is Wait with a timeout instead of a context; on timeout it returns the current
// state and context.DeadlineExceeded.
func (j *Job) WaitTimeout(d time.Duration) (JobState, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return j.Wait(ctx)
}

// Type is the job type.
func (j *Job) Type() (JobType, error) {
	var t C.bg_job_type
	_, err := j.call("bg_job_get_type", func(h C.bg_job) C.bg_hresult { return C.bg_job_get_type(h, &t) })
	return JobType(t), err
}

// State is the job's current state.
func (j *Job) State() (JobState, error) {
	var s C.bg_job_state
	_, err := j.call("bg_job_get_state", func(h C.bg_job) C.bg_hresult { return C.bg_job_get_state(h, &s) })
	return JobState(s), err
}

// Progress is the bytes and files transferred so far.
func (j *Job) Progress() (Progress, error) {
	var p C.struct_bg_job_progress
	_, err := j.call("bg_job_get_progress", func(h C.bg_job) C.bg_hresult { return C.bg_job_get_progress(h, &p) })
	return Progress{
		BytesTotal:       uint64(p.bytes_total),
		BytesTransferred: uint64(p.bytes_transferred),
		FilesTotal:       uint32(p.files_total),
		FilesTransferred: uint32(p.files_transferred),
	}, err
}

// Times are the job's creation, modification and transfer completion times (UTC).
func (j *Job) Times() (Times, error) {
	var t C.struct_bg_job_times
	_, err := j.call("bg_job_get_times", func(h C.bg_job) C.bg_hresult { return C.bg_job_get_times(h, &t) })
	return Times{
		Creation:           msToTime(int64(t.creation_time)),
		Modification:       msToTime(int64(t.modification_time)),
		TransferCompletion: msToTime(int64(t.transfer_completion_time)),
	}, err
}

// JobError is the job's error object in ERROR and TRANSIENT_ERROR, else nil (with a nil error).
func (j *Job) JobError() (*JobError, error) {
	const op = "bg_job_get_error"
	h, err := j.handle(op)
	if err != nil {
		return nil, err
	}
	defer runtime.KeepAlive(j)
	var e C.struct_bg_job_error
	size := 512
	for {
		buf := make([]byte, size)
		var needed C.size_t
		hr := C.bg_job_get_error(h, &e, (*C.char)(unsafe.Pointer(&buf[0])), C.size_t(size), &needed)
		switch HResult(hr) {
		case BG_E_INSUFFICIENT_BUFFER:
			if int(needed) > size {
				size = int(needed)
				continue
			}
		case BG_E_ERROR_INFORMATION_UNAVAILABLE:
			return nil, nil
		}
		if err := check(op, hr); err != nil {
			return nil, err
		}
		n := 0
		for n < len(buf) && buf[n] != 0 {
			n++
		}
		idx := -1
		if uint32(e.file_index) != 0xFFFFFFFF {
			idx = int(e.file_index)
		}
		return &JobError{
			Context:     ErrorContext(e.context),
			Code:        HResult(e.code),
			FileIndex:   idx,
			Description: string(buf[:n]),
		}, nil
	}
}

// ErrorCount is how many times the job went to TRANSIENT_ERROR or ERROR.
func (j *Job) ErrorCount() (uint32, error) {
	return j.getU32("bg_job_get_error_count", func(h C.bg_job, out *C.uint32_t) C.bg_hresult {
		return C.bg_job_get_error_count(h, out)
	})
}

// FileCount is the number of files in the job.
func (j *Job) FileCount() (uint32, error) {
	return j.getU32("bg_job_get_file_count", func(h C.bg_job, out *C.uint32_t) C.bg_hresult {
		return C.bg_job_get_file_count(h, out)
	})
}

// File is the names and progress of file index (0-based, in the order added).
func (j *Job) File(index uint32) (FileInfo, error) {
	h, err := j.handle("bg_job_get_file_progress")
	if err != nil {
		return FileInfo{}, err
	}
	defer runtime.KeepAlive(j)
	var p C.struct_bg_file_progress
	if err := check("bg_job_get_file_progress", C.bg_job_get_file_progress(h, C.uint32_t(index), &p)); err != nil {
		return FileInfo{}, err
	}
	idx := C.uint32_t(index)
	remote, _, err := readString("bg_job_get_file_remote_name", func(b *C.char, c C.size_t, n *C.size_t) C.bg_hresult {
		return C.bg_job_get_file_remote_name(h, idx, b, c, n)
	})
	if err != nil {
		return FileInfo{}, err
	}
	local, _, err := readString("bg_job_get_file_local_name", func(b *C.char, c C.size_t, n *C.size_t) C.bg_hresult {
		return C.bg_job_get_file_local_name(h, idx, b, c, n)
	})
	if err != nil {
		return FileInfo{}, err
	}
	temp, _, err := readString("bg_job_get_file_temp_name", func(b *C.char, c C.size_t, n *C.size_t) C.bg_hresult {
		return C.bg_job_get_file_temp_name(h, idx, b, c, n)
	})
	if err != nil {
		return FileInfo{}, err
	}
	return FileInfo{
		Index:            index,
		RemoteName:       remote,
		LocalName:        local,
		TempName:         temp,
		BytesTotal:       uint64(p.bytes_total),
		BytesTransferred: uint64(p.bytes_transferred),
		Completed:        p.completed != 0,
	}, nil
}

// Files is every file of the job, in the order added.
func (j *Job) Files() ([]FileInfo, error) {
	n, err := j.FileCount()
	if err != nil {
		return nil, err
	}
	files := make([]FileInfo, 0, n)
	for i := uint32(0); i < n; i++ {
		f, err := j.File(i)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}

// DisplayName is the job's display name.
func (j *Job) DisplayName() (string, error) {
	return j.getString("bg_job_get_display_name", func(h C.bg_job, b *C.char, c C.size_t, n *C.size_t) C.bg_hresult {
		return C.bg_job_get_display_name(h, b, c, n)
	})
}

// SetDisplayName sets the display name (at most 256 UTF-16 units).
func (j *Job) SetDisplayName(name string) error {
	return j.setString("bg_job_set_display_name", name, func(h C.bg_job, s *C.char) C.bg_hresult {
		return C.bg_job_set_display_name(h, s)
	})
}

// Description is the job's description ("" until set).
func (j *Job) Description() (string, error) {
	return j.getString("bg_job_get_description", func(h C.bg_job, b *C.char, c C.size_t, n *C.size_t) C.bg_hresult {
		return C.bg_job_get_description(h, b, c, n)
	})
}

// SetDescription sets the description (at most 1,024 characters).
func (j *Job) SetDescription(text string) error {
	return j.setString("bg_job_set_description", text, func(h C.bg_job, s *C.char) C.bg_hresult {
		return C.bg_job_set_description(h, s)
	})
}

// Priority is the job's priority.
func (j *Job) Priority() (Priority, error) {
	var p C.bg_job_priority
	_, err := j.call("bg_job_get_priority", func(h C.bg_job) C.bg_hresult { return C.bg_job_get_priority(h, &p) })
	return Priority(p), err
}

// SetPriority sets the priority; ErrNotImplemented for a value that is not a Priority.
func (j *Job) SetPriority(p Priority) error {
	_, err := j.call("bg_job_set_priority", func(h C.bg_job) C.bg_hresult {
		return C.bg_job_set_priority(h, C.bg_job_priority(p))
	})
	return err
}

// MinimumRetryDelay is the wait in TRANSIENT_ERROR before a retry (whole seconds).
func (j *Job) MinimumRetryDelay() (time.Duration, error) {
	s, err := j.getU32("bg_job_get_minimum_retry_delay", func(h C.bg_job, out *C.uint32_t) C.bg_hresult {
		return C.bg_job_get_minimum_retry_delay(h, out)
	})
	return time.Duration(s) * time.Second, err
}

// SetMinimumRetryDelay sets MinimumRetryDelay (rounded up to whole seconds).
func (j *Job) SetMinimumRetryDelay(d time.Duration) error {
	return j.setU32("bg_job_set_minimum_retry_delay", secondsOf(d), func(h C.bg_job, v C.uint32_t) C.bg_hresult {
		return C.bg_job_set_minimum_retry_delay(h, v)
	})
}

// NoProgressTimeout is how long a job may go without progress before TRANSIENT_ERROR becomes
// ERROR.
func (j *Job) NoProgressTimeout() (time.Duration, error) {
	s, err := j.getU32("bg_job_get_no_progress_timeout", func(h C.bg_job, out *C.uint32_t) C.bg_hresult {
		return C.bg_job_get_no_progress_timeout(h, out)
	})
	return time.Duration(s) * time.Second, err
}

// SetNoProgressTimeout sets NoProgressTimeout (0: every error is fatal).
func (j *Job) SetNoProgressTimeout(d time.Duration) error {
	return j.setU32("bg_job_set_no_progress_timeout", secondsOf(d), func(h C.bg_job, v C.uint32_t) C.bg_hresult {
		return C.bg_job_set_no_progress_timeout(h, v)
	})
}

// MaximumDownloadTime is how long the job may transfer after its last Resume (0: no limit).
func (j *Job) MaximumDownloadTime() (time.Duration, error) {
	s, err := j.getU32("bg_job_get_maximum_download_time", func(h C.bg_job, out *C.uint32_t) C.bg_hresult {
		return C.bg_job_get_maximum_download_time(h, out)
	})
	return time.Duration(s) * time.Second, err
}

// SetMaximumDownloadTime sets MaxDownloadTime (0: no limit).
func (j *Job) SetMaximumDownloadTime(d time.Duration) error {
	return j.setU32("bg_job_set_maximum_download_time", secondsOf(d), func(h C.bg_job, v C.uint32_t) C.bg_hresult {
		return C.bg_job_set_maximum_download_time(h, v)
	})
}

// NotifyFlags is an OR of BG_NOTIFY_* (default 0x3).
func (j *Job) NotifyFlags() (uint32, error) {
	return j.getU32("bg_job_get_notify_flags", func(h C.bg_job, out *C.uint32_t) C.bg_hresult {
		return C.bg_job_get_notify_flags(h, out)
	})
}

// SetNotifyFlags sets the notify flags; ErrNotImplemented for unknown bits.
func (j *Job) SetNotifyFlags(flags uint32) error {
	return j.setU32("bg_job_set_notify_flags", flags, func(h C.bg_job, v C.uint32_t) C.bg_hresult {
		return C.bg_job_set_notify_flags(h, v)
	})
}

// SecurityFlags is an OR of BG_SSL_* and BG_HTTP_REDIRECT_POLICY_* (default 0).
func (j *Job) SecurityFlags() (uint32, error) {
	return j.getU32("bg_job_get_security_flags", func(h C.bg_job, out *C.uint32_t) C.bg_hresult {
		return C.bg_job_get_security_flags(h, out)
	})
}

// SetSecurityFlags sets the security flags; ErrNotImplemented for flags bgcopy lacks.
func (j *Job) SetSecurityFlags(flags uint32) error {
	return j.setU32("bg_job_set_security_flags", flags, func(h C.bg_job, v C.uint32_t) C.bg_hresult {
		return C.bg_job_set_security_flags(h, v)
	})
}

func (j *Job) getU32(op string, f func(h C.bg_job, out *C.uint32_t) C.bg_hresult) (uint32, error) {
	var v C.uint32_t
	_, err := j.call(op, func(h C.bg_job) C.bg_hresult { return f(h, &v) })
	return uint32(v), err
}

func (j *Job) setU32(op string, v uint32, f func(h C.bg_job, v C.uint32_t) C.bg_hresult) error {
	_, err := j.call(op, func(h C.bg_job) C.bg_hresult { return f(h, C.uint32_t(v)) })
	return err
}

func (j *Job) getString(op string, f func(h C.bg_job, b *C.char, c C.size_t, n *C.size_t) C.bg_hresult) (string, error) {
	h, err := j.handle(op)
	if err != nil {
		return "", err
	}
	s, _, err := readString(op, func(b *C.char, c C.size_t, n *C.size_t) C.bg_hresult { return f(h, b, c, n) })
	runtime.KeepAlive(j)
	return s, err
}

func (j *Job) setString(op, value string, f func(h C.bg_job, s *C.char) C.bg_hresult) error {
	cs, err := cString(op, value)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(cs))
	_, err = j.call(op, func(h C.bg_job) C.bg_hresult { return f(h, cs) })
	return err
}
