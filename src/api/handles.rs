//! The handle table: every `bg_manager` and `bg_job` the C side holds is an index into it.
//!
//! A handle is `tag (16 bits) | generation (16 bits) | slot (32 bits)`. The tag names the kind
//! (and is never 0, so a handle cut to its low 32 bits is always invalid); the generation changes
//! each time a slot is freed, so a released handle stops matching its slot even after the slot is
//! reused. Lookups clone an `Arc` under the table lock and return it, so no caller ever holds the
//! lock while it works, and nothing a worker thread uses is freed under it.

use crate::hresult::{Error, Result};
use once_cell::sync::Lazy;
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::Arc;

use super::job::JobRef;
use super::manager::Manager;

/// Tag of manager handles ("BM").
const TAG_MANAGER: u64 = 0x424D;
/// Tag of job handles ("BJ").
const TAG_JOB: u64 = 0x424A;

/// What a slot holds.
#[derive(Clone)]
pub enum Entry {
    /// A manager handle.
    Manager(Arc<Manager>),
    /// A job handle.
    Job(Arc<JobRef>),
}

impl Entry {
    fn tag(&self) -> u64 {
        match self {
            Entry::Manager(_) => TAG_MANAGER,
            Entry::Job(_) => TAG_JOB,
        }
    }
}

struct Slot {
    generation: u16,
    entry: Option<Entry>,
}

#[derive(Default)]
struct Table {
    slots: Vec<Slot>,
    /// Free slots, reused oldest first so a generation wraps as late as possible.
    free: VecDeque<u32>,
}

static TABLE: Lazy<Mutex<Table>> = Lazy::new(|| Mutex::new(Table::default()));

fn encode(tag: u64, generation: u16, slot: u32) -> u64 {
    (tag << 48) | (u64::from(generation) << 32) | u64::from(slot)
}

fn decode(handle: u64) -> (u64, u16, u32) {
    (handle >> 48, (handle >> 32) as u16, handle as u32)
}

/// Stores `entry` and returns its new handle (never 0).
pub fn insert(entry: Entry) -> u64 {
    let tag = entry.tag();
    let mut table = TABLE.lock();
    let index = match table.free.pop_front() {
        Some(index) => index,
        None => {
            table.slots.push(Slot {
                generation: 1,
                entry: None,
            });
            u32::try_from(table.slots.len() - 1).expect("more than 2^32 live handles")
        }
    };
    let slot = &mut table.slots[index as usize];
    slot.entry = Some(entry);
    encode(tag, slot.generation, index)
}

fn lookup(table: &Table, handle: u64, tag: u64) -> Result<usize> {
    let (htag, generation, index) = decode(handle);
    if htag != tag {
        return Err(Error::Handle);
    }
    match table.slots.get(index as usize) {
        Some(slot)
            if slot.generation == generation
                && slot.entry.as_ref().is_some_and(|e| e.tag() == tag) =>
        {
            Ok(index as usize)
        }
        _ => Err(Error::Handle),
    }
}

fn take(table: &mut Table, index: usize) -> Option<Entry> {
    let slot = &mut table.slots[index];
    let entry = slot.entry.take();
    slot.generation = slot.generation.wrapping_add(1).max(1);
    table.free.push_back(index as u32);
    entry
}

/// The job behind a handle, or `E_HANDLE`.
pub fn job(handle: u64) -> Result<Arc<JobRef>> {
    let table = TABLE.lock();
    let index = lookup(&table, handle, TAG_JOB)?;
    match &table.slots[index].entry {
        Some(Entry::Job(job)) => Ok(job.clone()),
        _ => Err(Error::Handle),
    }
}

/// The manager behind a handle, or `E_HANDLE`.
pub fn manager(handle: u64) -> Result<Arc<Manager>> {
    let table = TABLE.lock();
    let index = lookup(&table, handle, TAG_MANAGER)?;
    match &table.slots[index].entry {
        Some(Entry::Manager(manager)) => Ok(manager.clone()),
        _ => Err(Error::Handle),
    }
}

/// Frees a job handle and returns what it held (to be dropped by the caller, outside the lock).
pub fn remove_job(handle: u64) -> Result<Arc<JobRef>> {
    let mut table = TABLE.lock();
    let index = lookup(&table, handle, TAG_JOB)?;
    match take(&mut table, index) {
        Some(Entry::Job(job)) => Ok(job),
        _ => Err(Error::Handle),
    }
}

/// Frees a manager handle and returns what it held.
pub fn remove_manager(handle: u64) -> Result<Arc<Manager>> {
    let mut table = TABLE.lock();
    let index = lookup(&table, handle, TAG_MANAGER)?;
    match take(&mut table, index) {
        Some(Entry::Manager(manager)) => Ok(manager),
        _ => Err(Error::Handle),
    }
}

/// Frees every job handle that `belongs` says is tied to a closing manager; returns them so the
/// caller drops them outside the lock.
pub fn remove_jobs_where(belongs: impl Fn(&JobRef) -> bool) -> Vec<Arc<JobRef>> {
    let mut table = TABLE.lock();
    let doomed: Vec<usize> = table
        .slots
        .iter()
        .enumerate()
        .filter(|(_, slot)| matches!(&slot.entry, Some(Entry::Job(job)) if belongs(job)))
        .map(|(index, _)| index)
        .collect();
    doomed
        .into_iter()
        .filter_map(|index| match take(&mut table, index) {
            Some(Entry::Job(job)) => Some(job),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_round_trips_and_zero_is_never_valid() {
        let h = encode(TAG_JOB, 7, 42);
        assert_eq!(decode(h), (TAG_JOB, 7, 42));
        assert!(job(0).is_err());
        assert!(manager(0).is_err());
        // A handle cut to its low 32 bits loses its tag.
        assert!(job(h & 0xFFFF_FFFF).is_err());
    }
}
