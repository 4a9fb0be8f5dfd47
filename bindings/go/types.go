package bgcopy

import (
	"fmt"
	"time"
)

// JobState is BG_JOB_STATE_*.
type JobState int32

// Job states.
const (
	StateQueued         JobState = BG_JOB_STATE_QUEUED
	StateConnecting     JobState = BG_JOB_STATE_CONNECTING
	StateTransferring   JobState = BG_JOB_STATE_TRANSFERRING
	StateSuspended      JobState = BG_JOB_STATE_SUSPENDED
	StateError          JobState = BG_JOB_STATE_ERROR
	StateTransientError JobState = BG_JOB_STATE_TRANSIENT_ERROR
	StateTransferred    JobState = BG_JOB_STATE_TRANSFERRED
	StateAcknowledged   JobState = BG_JOB_STATE_ACKNOWLEDGED
	StateCancelled      JobState = BG_JOB_STATE_CANCELLED
)

var stateNames = [...]string{"QUEUED", "CONNECTING", "TRANSFERRING", "SUSPENDED", "ERROR",
	"TRANSIENT_ERROR", "TRANSFERRED", "ACKNOWLEDGED", "CANCELLED"}

func (s JobState) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("JobState(%d)", int32(s))
}

// IsFinal reports ACKNOWLEDGED or CANCELLED.
func (s JobState) IsFinal() bool { return s == StateAcknowledged || s == StateCancelled }

// IsSettled reports the states Wait returns on: TRANSFERRED, ERROR, ACKNOWLEDGED, CANCELLED.
func (s JobState) IsSettled() bool { return s == StateTransferred || s == StateError || s.IsFinal() }

// JobType is BG_JOB_TYPE_* (only downloads are supported by this version of the library).
type JobType int32

// Job types.
const (
	JobTypeDownload    JobType = BG_JOB_TYPE_DOWNLOAD
	JobTypeUpload      JobType = BG_JOB_TYPE_UPLOAD
	JobTypeUploadReply JobType = BG_JOB_TYPE_UPLOAD_REPLY
)

func (t JobType) String() string {
	switch t {
	case JobTypeDownload:
		return "DOWNLOAD"
	case JobTypeUpload:
		return "UPLOAD"
	case JobTypeUploadReply:
		return "UPLOAD_REPLY"
	}
	return fmt.Sprintf("JobType(%d)", int32(t))
}

// Priority is BG_JOB_PRIORITY_* (Foreground is the highest).
type Priority int32

// Priorities.
const (
	PriorityForeground Priority = BG_JOB_PRIORITY_FOREGROUND
	PriorityHigh       Priority = BG_JOB_PRIORITY_HIGH
	PriorityNormal     Priority = BG_JOB_PRIORITY_NORMAL
	PriorityLow        Priority = BG_JOB_PRIORITY_LOW
)

func (p Priority) String() string {
	switch p {
	case PriorityForeground:
		return "FOREGROUND"
	case PriorityHigh:
		return "HIGH"
	case PriorityNormal:
		return "NORMAL"
	case PriorityLow:
		return "LOW"
	}
	return fmt.Sprintf("Priority(%d)", int32(p))
}

// ErrorContext is BG_ERROR_CONTEXT_*: where a job error arose.
type ErrorContext int32

// Error contexts.
const (
	ContextNone                      ErrorContext = BG_ERROR_CONTEXT_NONE
	ContextUnknown                   ErrorContext = BG_ERROR_CONTEXT_UNKNOWN
	ContextGeneralQueueManager       ErrorContext = BG_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER
	ContextQueueManagerNotification  ErrorContext = BG_ERROR_CONTEXT_QUEUE_MANAGER_NOTIFICATION
	ContextLocalFile                 ErrorContext = BG_ERROR_CONTEXT_LOCAL_FILE
	ContextRemoteFile                ErrorContext = BG_ERROR_CONTEXT_REMOTE_FILE
	ContextGeneralTransport          ErrorContext = BG_ERROR_CONTEXT_GENERAL_TRANSPORT
	ContextRemoteApplication         ErrorContext = BG_ERROR_CONTEXT_REMOTE_APPLICATION
	ContextServerCertificateCallback ErrorContext = BG_ERROR_CONTEXT_SERVER_CERTIFICATE_CALLBACK
)

var contextNames = [...]string{"NONE", "UNKNOWN", "GENERAL_QUEUE_MANAGER",
	"QUEUE_MANAGER_NOTIFICATION", "LOCAL_FILE", "REMOTE_FILE", "GENERAL_TRANSPORT",
	"REMOTE_APPLICATION", "SERVER_CERTIFICATE_CALLBACK"}

func (c ErrorContext) String() string {
	if c >= 0 && int(c) < len(contextNames) {
		return contextNames[c]
	}
	return fmt.Sprintf("ErrorContext(%d)", int32(c))
}

// CompleteResult is what Complete (or Cancel) achieved.
type CompleteResult int32

// Results of Complete and Cancel.
const (
	// CompleteOK (S_OK): every file kept (Cancel: every temp file deleted).
	CompleteOK CompleteResult = CompleteResult(S_OK)
	// CompletePartial (BG_S_PARTIAL_COMPLETE): only the fully transferred files were kept.
	CompletePartial CompleteResult = CompleteResult(BG_S_PARTIAL_COMPLETE)
	// CompleteUnableToDelete (BG_S_UNABLE_TO_DELETE_FILES): done, but a temp file remained.
	CompleteUnableToDelete CompleteResult = CompleteResult(BG_S_UNABLE_TO_DELETE_FILES)
)

func (r CompleteResult) String() string {
	switch r {
	case CompleteOK:
		return "OK"
	case CompletePartial:
		return "PARTIAL"
	case CompleteUnableToDelete:
		return "UNABLE_TO_DELETE"
	}
	return HResult(r).String()
}

// Option is a manager option, BG_OPTION_*.
type Option int32

// Manager options (see the header for ranges and defaults).
const (
	OptionMaxBackgroundTransfers Option = BG_OPTION_MAX_BACKGROUND_TRANSFERS
	OptionMaxConnectionsPerHost  Option = BG_OPTION_MAX_CONNECTIONS_PER_HOST
	OptionBackgroundRateLimitBPS Option = BG_OPTION_BACKGROUND_RATE_LIMIT_BPS
	OptionForegroundYieldPercent Option = BG_OPTION_FOREGROUND_YIELD_PERCENT
	OptionTimeSliceMS            Option = BG_OPTION_TIME_SLICE_MS
	OptionStallTimeoutMS         Option = BG_OPTION_STALL_TIMEOUT_MS
	OptionRetryDelayFloorMS      Option = BG_OPTION_RETRY_DELAY_FLOOR_MS
	OptionInactivityTimeoutS     Option = BG_OPTION_INACTIVITY_TIMEOUT_S
)

// Progress is a job's progress (bg_job_progress).
type Progress struct {
	BytesTotal       uint64 // SizeUnknown while any file's size is unknown
	BytesTransferred uint64
	FilesTotal       uint32
	FilesTransferred uint32
}

// TotalKnown reports whether BytesTotal is known.
func (p Progress) TotalKnown() bool { return p.BytesTotal != SizeUnknown }

// FileInfo is one file of a job: its names and progress.
type FileInfo struct {
	Index            uint32
	RemoteName       string
	LocalName        string
	TempName         string // the hidden temp file while it exists, else ""
	BytesTotal       uint64 // SizeUnknown until known
	BytesTransferred uint64
	Completed        bool // Complete renamed it into place
}

// Times are a job's times; the zero time.Time means "not yet".
type Times struct {
	Creation           time.Time
	Modification       time.Time
	TransferCompletion time.Time
}

// JobError is a job's error object (a job in ERROR or TRANSIENT_ERROR). It is an error itself,
// wrapping the *Error of its code: errors.Is(jobErr, bgcopy.ErrHTTP) works.
type JobError struct {
	Context     ErrorContext
	Code        HResult
	FileIndex   int // -1 when the error is not about one file
	Description string
}

func (e *JobError) Error() string {
	return fmt.Sprintf("bgcopy: job error in %s: %s: %s (%s)", e.Context, e.Code, e.Code.Message(),
		e.Description)
}

// Unwrap gives the code as an *Error, for errors.Is and errors.As.
func (e *JobError) Unwrap() error { return &Error{Code: e.Code, Detail: e.Description} }

// HTTPStatus is the HTTP status for BG_E_HTTP_ERROR_xxx codes, else 0.
func (e *JobError) HTTPStatus() int { return e.Code.HTTPStatus() }

func msToTime(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

func secondsOf(d time.Duration) uint32 {
	if d <= 0 {
		return 0
	}
	s := (d + time.Second - 1) / time.Second
	if s > 0xFFFFFFFF {
		return 0xFFFFFFFF
	}
	return uint32(s)
}
