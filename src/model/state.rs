//! Job states, types and priorities with their BITS numbers, and the method × state matrix of
//! spec §2.3 as pure functions.

use crate::hresult::{Error, Result};

/// `BG_JOB_STATE` (spec §2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum JobState {
    /// Ready, waiting for the scheduler.
    Queued = 0,
    /// Opening the source.
    Connecting = 1,
    /// Moving bytes.
    Transferring = 2,
    /// Paused; every new job starts here.
    Suspended = 3,
    /// Fatal error; no automatic retry.
    Error = 4,
    /// Recoverable error; retried automatically.
    TransientError = 5,
    /// Every file transferred; waiting for Complete.
    Transferred = 6,
    /// Complete succeeded (final).
    Acknowledged = 7,
    /// Cancel succeeded (final).
    Cancelled = 8,
}

impl JobState {
    /// The state for a BITS number.
    pub fn from_i32(v: i32) -> Option<Self> {
        use JobState::*;
        Some(match v {
            0 => Queued,
            1 => Connecting,
            2 => Transferring,
            3 => Suspended,
            4 => Error,
            5 => TransientError,
            6 => Transferred,
            7 => Acknowledged,
            8 => Cancelled,
            _ => return None,
        })
    }

    /// ACKNOWLEDGED and CANCELLED: the job never leaves them and is gone from the queue.
    pub fn is_final(self) -> bool {
        matches!(self, JobState::Acknowledged | JobState::Cancelled)
    }

    /// QUEUED, CONNECTING, TRANSFERRING: the scheduler owns the job.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            JobState::Queued | JobState::Connecting | JobState::Transferring
        )
    }

    /// The states `bg_job_wait` returns on: TRANSFERRED, ERROR, ACKNOWLEDGED, CANCELLED.
    pub fn is_settled(self) -> bool {
        matches!(
            self,
            JobState::Transferred | JobState::Error | JobState::Acknowledged | JobState::Cancelled
        )
    }
}

/// `BG_JOB_TYPE` (spec §1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum JobType {
    /// Server → client, one or more files.
    Download = 0,
    /// Client → server, one file (BITS upload protocol).
    Upload = 1,
    /// Upload, then download the server application's reply.
    UploadReply = 2,
}

impl JobType {
    /// The type for a BITS number.
    pub fn from_i32(v: i32) -> Option<Self> {
        match v {
            0 => Some(JobType::Download),
            1 => Some(JobType::Upload),
            2 => Some(JobType::UploadReply),
            _ => None,
        }
    }
}

/// `BG_JOB_PRIORITY` (spec §1.2); a lower number is served first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(i32)]
pub enum Priority {
    /// Transfers at once, unthrottled.
    Foreground = 0,
    /// Highest background priority.
    High = 1,
    /// Default for new jobs.
    Normal = 2,
    /// Lowest background priority.
    Low = 3,
}

impl Priority {
    /// The priority for a BITS number.
    pub fn from_i32(v: i32) -> Option<Self> {
        match v {
            0 => Some(Priority::Foreground),
            1 => Some(Priority::High),
            2 => Some(Priority::Normal),
            3 => Some(Priority::Low),
            _ => None,
        }
    }
}

/// The rows of the method × state matrix that download jobs use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// AddFile.
    AddFile,
    /// Resume.
    Resume,
    /// Suspend.
    Suspend,
    /// Cancel.
    Cancel,
    /// Complete.
    Complete,
    /// Every Set* on the job (properties, notify flags, callbacks, command line).
    SetProperty,
}

/// Whether `method` may be called on a job of `job_type` in `state` (spec §2.3): every mutating
/// method is refused in the final states, and Complete on upload jobs needs TRANSFERRED.
pub fn check(method: Method, job_type: JobType, state: JobState) -> Result<()> {
    if state.is_final() {
        return Err(Error::InvalidState);
    }
    if method == Method::Complete && job_type != JobType::Download && state != JobState::Transferred
    {
        return Err(Error::InvalidState);
    }
    Ok(())
}

/// What Resume does (spec §2.2 T2–T4, §10 #14): `Ok(Some(QUEUED))` to queue the job,
/// `Ok(None)` when it is a no-op, `BG_E_EMPTY` for a job without files, `BG_E_INVALID_STATE` in
/// the final states.
pub fn resume(
    state: JobState,
    files_total: usize,
    files_untransferred: usize,
) -> Result<Option<JobState>> {
    check(Method::Resume, JobType::Download, state)?;
    if files_total == 0 {
        return Err(Error::Empty);
    }
    Ok(match state {
        JobState::Queued | JobState::Connecting | JobState::Transferring => None,
        JobState::Transferred if files_untransferred == 0 => None,
        _ => Some(JobState::Queued),
    })
}

/// What Suspend does (T20): SUSPENDED from any non-final state (a no-op when already there).
pub fn suspend(state: JobState) -> Result<Option<JobState>> {
    check(Method::Suspend, JobType::Download, state)?;
    Ok((state != JobState::Suspended).then_some(JobState::Suspended))
}

#[cfg(test)]
mod tests {
    use super::{check, resume, suspend, JobState, JobType, Method, Priority};
    use crate::hresult::Error;
    use JobState::{
        Acknowledged, Cancelled, Connecting, Queued, Suspended, Transferred, Transferring,
        TransientError,
    };
    #[allow(non_upper_case_globals)]
    const ErrorState: JobState = JobState::Error;

    const ALL: [JobState; 9] = [
        Queued,
        Connecting,
        Transferring,
        Suspended,
        ErrorState,
        TransientError,
        Transferred,
        Acknowledged,
        Cancelled,
    ];

    #[test]
    fn numbers_match_bits() {
        for (i, s) in ALL.iter().enumerate() {
            assert_eq!(*s as i32, i as i32);
            assert_eq!(JobState::from_i32(i as i32), Some(*s));
        }
        assert_eq!(JobState::from_i32(9), None);
        assert_eq!(Priority::from_i32(4), None);
        assert_eq!(JobType::from_i32(-1), None);
    }

    #[test]
    fn matrix_download() {
        for method in [
            Method::AddFile,
            Method::Resume,
            Method::Suspend,
            Method::Cancel,
            Method::Complete,
            Method::SetProperty,
        ] {
            for s in ALL {
                let r = check(method, JobType::Download, s);
                assert_eq!(r.is_ok(), !s.is_final(), "{method:?} in {s:?}");
            }
        }
    }

    #[test]
    fn complete_upload_only_when_transferred() {
        for s in ALL {
            assert_eq!(
                check(Method::Complete, JobType::Upload, s).is_ok(),
                s == Transferred
            );
            assert_eq!(
                check(Method::Complete, JobType::UploadReply, s).is_ok(),
                s == Transferred
            );
        }
    }

    #[test]
    fn resume_rules() {
        assert!(matches!(resume(Suspended, 0, 0), Err(Error::Empty)));
        assert_eq!(resume(Suspended, 1, 1).unwrap(), Some(Queued));
        assert_eq!(resume(ErrorState, 1, 1).unwrap(), Some(Queued));
        assert_eq!(resume(TransientError, 1, 1).unwrap(), Some(Queued));
        assert_eq!(resume(Queued, 1, 1).unwrap(), None);
        assert_eq!(resume(Transferring, 1, 1).unwrap(), None);
        assert_eq!(resume(Transferred, 2, 0).unwrap(), None);
        assert_eq!(resume(Transferred, 2, 1).unwrap(), Some(Queued));
        assert!(matches!(
            resume(Acknowledged, 1, 1),
            Err(Error::InvalidState)
        ));
        assert!(matches!(resume(Cancelled, 1, 1), Err(Error::InvalidState)));
        assert_eq!(suspend(Suspended).unwrap(), None);
        assert_eq!(suspend(Transferred).unwrap(), Some(Suspended));
        assert!(suspend(Cancelled).is_err());
    }
}
