//! The store's schema. `PRAGMA user_version` holds its version; a newer one is refused.

/// The schema version this bgcopy writes and reads.
pub(crate) const SCHEMA_VERSION: i64 = 3;

/// Version 1.
pub(crate) const V1: &str = "
CREATE TABLE jobs (
    id BLOB PRIMARY KEY NOT NULL,
    seq INTEGER NOT NULL,
    rev INTEGER NOT NULL,
    type INTEGER NOT NULL,
    display_name TEXT NOT NULL,
    description TEXT NOT NULL,
    priority INTEGER NOT NULL,
    state INTEGER NOT NULL,
    notify_flags INTEGER NOT NULL,
    min_retry_delay INTEGER NOT NULL,
    no_progress_timeout INTEGER NOT NULL,
    max_download_time INTEGER NOT NULL,
    security_flags INTEGER NOT NULL,
    error_context INTEGER,
    error_code INTEGER,
    error_file INTEGER,
    error_desc TEXT,
    error_count INTEGER NOT NULL,
    creation_time INTEGER NOT NULL,
    modification_time INTEGER NOT NULL,
    transfer_completion_time INTEGER NOT NULL,
    active_ms INTEGER NOT NULL,
    min_notify_interval INTEGER NOT NULL,
    notify_program TEXT,
    notify_args BLOB,
    notify_cmd_done INTEGER,
    max_rate INTEGER NOT NULL,
    progress_rev INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX jobs_seq ON jobs (seq);
CREATE TABLE settings (
    option INTEGER PRIMARY KEY NOT NULL,
    value INTEGER NOT NULL
);
CREATE TABLE files (
    job_id BLOB NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    remote_name TEXT NOT NULL,
    local_name BLOB NOT NULL,
    bytes_total INTEGER NOT NULL,
    bytes_transferred INTEGER NOT NULL,
    transferred INTEGER NOT NULL,
    completed INTEGER NOT NULL,
    discarded INTEGER NOT NULL,
    rename_pending INTEGER NOT NULL,
    temp_path BLOB,
    v_size INTEGER,
    v_etag TEXT,
    v_last_modified TEXT,
    PRIMARY KEY (job_id, idx)
) WITHOUT ROWID;
";

/// Version 2: Complete records its intent to rename once per job (`complete_intent`) instead
/// of once per file; the files' `rename_pending` column is then only read (a version 1 store
/// left by a crash during Complete), and written as 0.
pub(crate) const V2: &str = "
ALTER TABLE jobs ADD COLUMN complete_intent INTEGER NOT NULL DEFAULT 0;
";

// Version 3 changes no table. Complete no longer rewrites the rows of the files it renamed:
// in an ACKNOWLEDGED job every file that is not discarded is completed and has no temp file,
// whatever its row says, and loading makes it so. A version 2 store is already consistent with
// that; the version is raised so that an older bgcopy, which would read such rows as files
// still waiting for their rename, refuses the store instead.
