//! Text and JSON output.

use crate::bg::{self, Job};
use crate::Global;
use serde_json::{json, Value};

pub fn print_json(v: &Value) {
    println!("{}", serde_json::to_string(v).expect("JSON"));
}

/// The error object of `--json` output.
pub fn error_json(e: &bg::Error) -> Value {
    json!({
        "hresult": bg::hex(e.code),
        "code": e.code,
        "name": bg::name(e.code),
        "message": e.message(),
        "detail": e.detail,
    })
}

/// Reports a failed command: JSON on stdout with `--json`, always a line on stderr.
pub fn print_error(g: &Global, e: &bg::Error) {
    if g.json {
        print_json(&json!({ "error": error_json(e) }));
    }
    eprintln!("bgcopy: error: {e}");
}

fn job_error_json(e: &bg::JobError) -> Value {
    json!({
        "context": bg::context_name(e.context),
        "hresult": bg::hex(e.code),
        "code": e.code,
        "name": bg::name(e.code),
        "message": bg::message(e.code),
        "description": e.description,
        "file_index": e.file_index,
        "http_status": bg::http_status(e.code),
    })
}

/// Everything about a job, as `info --json` prints it (also inside `list`, `get`, ...).
pub fn job_json(job: &Job) -> bg::Result<Value> {
    let p = job.progress()?;
    let (created, modified, transferred) = job.times()?;
    let files: Vec<Value> = job
        .files()?
        .into_iter()
        .map(|f| {
            json!({
                "remote_name": f.remote_name,
                "local_name": f.local_name,
                "temp_name": f.temp_name,
                "bytes_total": f.bytes_total,
                "bytes_transferred": f.bytes_transferred,
                "completed": f.completed,
            })
        })
        .collect();
    Ok(json!({
        "id": job.id().to_string(),
        "display_name": job.display_name()?,
        "description": job.description()?,
        "type": bg::type_name(job.job_type()?),
        "state": bg::state_name(job.state()?),
        "priority": bg::priority_name(job.priority()?),
        "progress": {
            "bytes_total": p.bytes_total,
            "bytes_transferred": p.bytes_transferred,
            "files_total": p.files_total,
            "files_transferred": p.files_transferred,
        },
        "times": {
            "creation_ms": created,
            "modification_ms": modified,
            "transfer_completion_ms": if transferred == 0 { None } else { Some(transferred) },
        },
        "error": job.error()?.as_ref().map(job_error_json),
        "error_count": job.error_count()?,
        "minimum_retry_delay_s": job.minimum_retry_delay()?,
        "no_progress_timeout_s": job.no_progress_timeout()?,
        "maximum_download_time_s": job.maximum_download_time()?,
        "notify_flags": job.notify_flags()?,
        "security_flags": job.security_flags()?,
        "max_rate_bps": job.max_rate()?,
        "minimum_notification_interval_ms": job.minimum_notification_interval()?,
        "notify_cmd_line": job.notify_cmd_line()?,
        "files": files,
    }))
}

pub fn bytes(n: u64) -> String {
    indicatif::BinaryBytes(n).to_string()
}

/// "1.00 MiB / 3.00 MiB (33%), files 0/1".
pub fn progress_text(p: &bg::Progress) -> String {
    let mut s = match p.bytes_total {
        Some(t) if t > 0 => format!(
            "{} / {} ({:.0}%)",
            bytes(p.bytes_transferred),
            bytes(t),
            100.0 * p.bytes_transferred as f64 / t as f64
        ),
        Some(_) => bytes(p.bytes_transferred),
        None => format!("{} / ?", bytes(p.bytes_transferred)),
    };
    s.push_str(&format!(
        ", files {}/{}",
        p.files_transferred, p.files_total
    ));
    s
}

/// Milliseconds since the epoch as "2024-05-01T12:00:00.000Z"; "-" for 0.
pub fn time_text(ms: i64) -> String {
    if ms == 0 {
        return "-".into();
    }
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // civil_from_days (Howard Hinnant)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

pub fn print_info(job: &Job) -> bg::Result<()> {
    let p = job.progress()?;
    let (created, modified, transferred) = job.times()?;
    println!("id:            {}", job.id());
    println!("name:          {}", job.display_name()?);
    let d = job.description()?;
    if !d.is_empty() {
        println!("description:   {d}");
    }
    println!("type:          {}", bg::type_name(job.job_type()?));
    println!("state:         {}", bg::state_name(job.state()?));
    println!("priority:      {}", bg::priority_name(job.priority()?));
    println!("progress:      {}", progress_text(&p));
    println!("created:       {}", time_text(created));
    println!("modified:      {}", time_text(modified));
    println!("transferred:   {}", time_text(transferred));
    println!("errors:        {}", job.error_count()?);
    if let Some(e) = job.error()? {
        let file = e
            .file_index
            .map(|i| format!(", file {i}"))
            .unwrap_or_default();
        println!(
            "error:         {}: {} [{}{file}] {}",
            bg::code_label(e.code),
            bg::message(e.code),
            bg::context_name(e.context),
            e.description
        );
    }
    println!(
        "retry delay:   {} s, no-progress timeout {} s, max download time {} s",
        job.minimum_retry_delay()?,
        job.no_progress_timeout()?,
        job.maximum_download_time()?
    );
    let files = job.files()?;
    println!("files:         {}", files.len());
    for (i, f) in files.iter().enumerate() {
        let size = match f.bytes_total {
            Some(t) => format!("{}/{}", bytes(f.bytes_transferred), bytes(t)),
            None => format!("{}/?", bytes(f.bytes_transferred)),
        };
        let done = if f.completed { ", completed" } else { "" };
        println!(
            "  [{i}] {} -> {} ({size}{done})",
            f.remote_name, f.local_name
        );
        if let Some(t) = &f.temp_name {
            println!("      temp file: {t}");
        }
    }
    Ok(())
}

pub fn print_list(jobs: &[Job]) -> bg::Result<()> {
    if jobs.is_empty() {
        println!("no jobs");
        return Ok(());
    }
    println!("{:<36}  {:<15}  {:<30}  NAME", "GUID", "STATE", "PROGRESS");
    for job in jobs {
        println!(
            "{:<36}  {:<15}  {:<30}  {}",
            job.id().to_string(),
            bg::state_name(job.state()?),
            progress_text(&job.progress()?),
            job.display_name()?
        );
    }
    Ok(())
}
