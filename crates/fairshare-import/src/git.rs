//! Commits of a local git repository (bare or not), read directly with gix.
//!
//! Every commit reachable from the chosen revision is read once (merge commits are
//! skipped); the author and each distinct `Co-authored-by` person get one `commit`
//! activity dated by the author time. Trailers in the message's last paragraph are
//! read: `Co-authored-by: Name <email>` and `on-behalf-of: @org-slug` or
//! `On-behalf-of: Name <email>`. Files and lines changed are those of the diff to the
//! first parent, without rename detection (as `git log --numstat --no-renames`:
//! symlinks and submodules count as files), and go on the author's activity only so
//! totals are not multiplied by co-authors.
//!
//! Nothing is skipped silently: an object that cannot be read is an error; a shallow
//! clone's boundary commits are skipped and reported, and the read is marked
//! incomplete so the resume point does not move past history not yet seen.

use std::path::Path;

use fairshare_engine::{ActivityKind, IdentityKey};
use gix::bstr::ByteSlice;
use time::OffsetDateTime;

use crate::error::ImportError;
use crate::record::{ActivityRecord, ChangeSize, OnBehalfOf, PersonRef, Skips};

/// How many records are handed over at once.
pub const BATCH: usize = 2_000;

pub struct GitImport<'a> {
    pub path: &'a Path,
    /// Revision to read from (default `HEAD`).
    pub rev: Option<&'a str>,
    /// Recorded as each activity's channel, e.g. `mautic/mautic`.
    pub repo_name: &'a str,
    pub team: Option<&'a str>,
    /// Commits imported before (tips of earlier runs): they and their ancestors are
    /// not read again.
    pub known_tips: &'a [String],
}

/// What a read found besides the records.
#[derive(Debug, Default)]
pub struct GitOutcome {
    /// The commit the walk started from; empty for a repository with no commits yet.
    pub tip: String,
    /// Every commit under the tip was read whole: only then may the tip be stored as
    /// the next run's resume point (a shallow clone is read again once deepened).
    pub complete: bool,
    pub commits_read: u64,
    pub skips: Skips,
    /// What the read could not do, said plainly (a shallow clone's boundary).
    pub problems: Vec<String>,
}

/// Why a commit at a shallow clone's boundary is not imported.
pub const SHALLOW_BOUNDARY: &str =
    "commit at the shallow clone's boundary (its parent is not in the clone)";

/// Walks the history, calling `sink` with batches of records and `progress` with the
/// number of commits read so far. `sink` returning an error stops the walk.
pub fn read(
    options: &GitImport<'_>,
    mut sink: impl FnMut(Vec<ActivityRecord>) -> Result<(), ImportError>,
    mut progress: impl FnMut(u64),
) -> Result<GitOutcome, ImportError> {
    let place = options.path.display().to_string();
    let fail = |what: &str, e: &dyn std::fmt::Display| {
        ImportError::invalid(&place, None, None, format!("{what}: {e}"))
    };
    let shared = gix::open(options.path)
        .map_err(|e| fail("not a git repository", &e))?
        .into_sync();
    let repo = with_caches(&shared);
    if options.rev.is_none()
        && repo
            .head()
            .map_err(|e| fail("cannot read HEAD", &e))?
            .is_unborn()
    {
        return Ok(GitOutcome {
            complete: true,
            ..Default::default()
        });
    }
    let rev = options.rev.unwrap_or("HEAD");
    let tip = repo
        .rev_parse_single(rev.as_bytes().as_bstr())
        .map_err(|e| fail(&format!("cannot resolve `{rev}`"), &e))?
        .detach();
    // Commits whose parents this clone lacks: read once the clone is deepened.
    let boundary: std::collections::HashSet<gix::ObjectId> = repo
        .shallow_commits()
        .map_err(|e| fail("cannot read the shallow file", &e))?
        .map(|commits| commits.iter().copied().collect())
        .unwrap_or_default();
    let mut outcome = GitOutcome {
        tip: tip.to_string(),
        ..Default::default()
    };
    let hidden: Vec<gix::ObjectId> = options
        .known_tips
        .iter()
        .filter_map(|t| gix::ObjectId::from_hex(t.as_bytes()).ok())
        .filter(|id| repo.find_object(*id).is_ok())
        .collect();
    let walk = repo
        .rev_walk([tip])
        .with_hidden(hidden)
        .all()
        .map_err(|e| fail("cannot walk the history", &e))?;
    let mut batch = Vec::with_capacity(BATCH);
    let mut at_boundary = 0u64;
    std::thread::scope(|scope| -> Result<(), ImportError> {
        let mut differ = Differ::start(scope, &shared);
        let mut chunk: Vec<Pending> = Vec::with_capacity(CHUNK);
        // Hands finished commits' records to `sink` in walk order, in batches.
        let mut deliver = |done: Vec<Pending>| -> Result<(), ImportError> {
            for pending in done {
                batch.extend(pending.records);
                if batch.len() >= BATCH {
                    sink(std::mem::take(&mut batch))?;
                }
            }
            Ok(())
        };
        for info in walk {
            // A history that cannot be walked further is never taken for its end.
            let info = info.map_err(|e| fail("the history could not be read further", &e))?;
            let id = info.id;
            let parents: Vec<gix::ObjectId> = info.parent_ids.iter().copied().collect();
            outcome.commits_read += 1;
            if outcome.commits_read.is_multiple_of(1_000) {
                progress(outcome.commits_read);
            }
            if boundary.contains(&id) {
                at_boundary += 1;
                outcome.skips.add(SHALLOW_BOUNDARY);
                continue;
            }
            if parents.len() > 1 {
                outcome.skips.add("merge commit");
                continue;
            }
            let commit = repo
                .find_commit(id)
                .map_err(|e| fail(&format!("commit {id} could not be read"), &e))?;
            let Some(records) = commit_records(&commit, options, &mut outcome.skips) else {
                continue;
            };
            chunk.push(Pending {
                id,
                parent: parents.first().copied(),
                records,
            });
            if chunk.len() == CHUNK {
                for done in differ.send(std::mem::take(&mut chunk), &fail)? {
                    deliver(done)?;
                }
            }
        }
        if !chunk.is_empty() {
            for done in differ.send(chunk, &fail)? {
                deliver(done)?;
            }
        }
        for done in differ.finish(&fail)? {
            deliver(done)?;
        }
        Ok(())
    })?;
    if !batch.is_empty() {
        sink(batch)?;
    }
    progress(outcome.commits_read);
    outcome.complete = at_boundary == 0;
    if at_boundary > 0 {
        outcome.problems.push(format!(
            "this is a shallow clone: {at_boundary} commits at its boundary and everything \
             before them are not in it and were not imported; deepen it (git fetch \
             --unshallow) and import again to read them"
        ));
    }
    Ok(outcome)
}

/// Commits per job handed to a diff worker: long runs of consecutive commits keep
/// each worker's delta-base cache useful (64 measured 0.90× `git log`, 1024 0.83×).
const CHUNK: usize = 1024;

/// A commit read, waiting for its files and lines.
struct Pending {
    id: gix::ObjectId,
    parent: Option<gix::ObjectId>,
    /// The author's first, then each distinct co-author's.
    records: Vec<ActivityRecord>,
}

/// The activities of one commit without its files and lines, or `None` (with the
/// reason counted in `skips`) when it cannot be credited to anyone.
fn commit_records(
    commit: &gix::Commit<'_>,
    options: &GitImport<'_>,
    skips: &mut Skips,
) -> Option<Vec<ActivityRecord>> {
    let Ok(author) = commit.author() else {
        skips.add("unreadable author");
        return None;
    };
    let author = author.trim();
    let Ok(author_key) = IdentityKey::from_email(&author.email.to_str_lossy()) else {
        skips.add("author without a usable email address");
        return None;
    };
    let at = author
        .time()
        .ok()
        .and_then(|t| OffsetDateTime::from_unix_timestamp(t.seconds).ok());
    let Some(at) = at else {
        skips.add("unreadable author date");
        return None;
    };
    let message = commit.message_raw_sloppy().to_str_lossy().into_owned();
    let trailers = Trailers::parse(&message);
    let title = message.lines().next().unwrap_or("").trim().to_string();
    let sha = commit.id.to_string();
    let mut people: Vec<(IdentityKey, Option<String>)> =
        vec![(author_key, Some(author.name.to_str_lossy().into_owned()))];
    for (name, email) in &trailers.co_authors {
        match IdentityKey::from_email(email) {
            Ok(key) if !people.iter().any(|(k, _)| *k == key) => people.push((key, name.clone())),
            Ok(_) => {}
            Err(_) => skips.add("co-author without a usable email address"),
        }
    }
    Some(
        people
            .into_iter()
            .map(|(key, name)| {
                let mut record = ActivityRecord::new(
                    format!("{sha}:{key}"),
                    ActivityKind::Commit,
                    PersonRef::new(key, name.as_deref()),
                    at,
                );
                record.channel = Some(options.repo_name.to_string());
                record.team = options.team.map(str::to_string);
                record.title = Some(title.clone());
                record.on_behalf_of = trailers.on_behalf_of.clone();
                record.commit_sha = Some(sha.clone());
                record
            })
            .collect(),
    )
}

/// A job: its index and its commits, each with its first parent.
type Job = (usize, Vec<(gix::ObjectId, Option<gix::ObjectId>)>);

/// A job's result: each commit's size in order, or the first commit that failed.
type Sized = Result<Vec<ChangeSize>, (gix::ObjectId, String)>;

/// Diffs commits on one worker per core (each with its own repository handle and
/// caches) and gives them back in the order they were sent: the walk and the store
/// see the history exactly as a single thread would.
struct Differ {
    jobs: Option<std::sync::mpsc::Sender<Job>>,
    results: std::sync::mpsc::Receiver<(usize, Sized)>,
    /// Chunks sent and not yet given back, oldest first.
    waiting: std::collections::VecDeque<Vec<Pending>>,
    /// Index of the oldest waiting chunk.
    next: usize,
    arrived: std::collections::BTreeMap<usize, Vec<ChangeSize>>,
    workers: usize,
}

impl Differ {
    fn start<'scope>(
        scope: &'scope std::thread::Scope<'scope, '_>,
        shared: &'scope gix::ThreadSafeRepository,
    ) -> Differ {
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = std::sync::Arc::new(std::sync::Mutex::new(queue));
        let (done, results) = std::sync::mpsc::channel();
        for _ in 0..workers {
            let (queue, done) = (queue.clone(), done.clone());
            scope.spawn(move || {
                let repo = with_caches(shared);
                let Ok(mut cache) = repo.diff_resource_cache_for_tree_diff() else {
                    return;
                };
                let empty_tree = repo.empty_tree();
                let mut buffers = Buffers::default();
                loop {
                    let job = queue.lock().map(|q| q.recv());
                    let Ok(Ok((index, commits))) = job else {
                        return; // no more work
                    };
                    let sized: Sized = commits
                        .into_iter()
                        .map(|(id, parent)| {
                            diff_size(&repo, id, parent, &empty_tree, &mut cache, &mut buffers)
                                .map_err(|e| (id, e))
                        })
                        .collect();
                    if done.send((index, sized)).is_err() {
                        return; // the walk stopped
                    }
                }
            });
        }
        Differ {
            jobs: Some(jobs),
            results,
            waiting: Default::default(),
            next: 0,
            arrived: Default::default(),
            workers,
        }
    }

    /// Sends a chunk; returns the chunks now complete, in order. Keeps a few chunks
    /// per worker in flight, so memory stays flat however long the history.
    fn send(
        &mut self,
        chunk: Vec<Pending>,
        fail: &impl Fn(&str, &dyn std::fmt::Display) -> ImportError,
    ) -> Result<Vec<Vec<Pending>>, ImportError> {
        let index = self.next + self.waiting.len();
        let commits = chunk.iter().map(|p| (p.id, p.parent)).collect();
        self.waiting.push_back(chunk);
        if let Some(jobs) = &self.jobs
            && jobs.send((index, commits)).is_err()
        {
            return Err(fail(
                "the diff workers stopped",
                &"a worker failed to start",
            ));
        }
        let mut ready = Vec::new();
        while self.waiting.len() > 3 * self.workers {
            ready.extend(self.receive(fail)?);
        }
        Ok(ready)
    }

    /// Waits for every chunk still out; returns them in order.
    fn finish(
        mut self,
        fail: &impl Fn(&str, &dyn std::fmt::Display) -> ImportError,
    ) -> Result<Vec<Vec<Pending>>, ImportError> {
        self.jobs = None;
        let mut ready = Vec::new();
        while !self.waiting.is_empty() {
            ready.extend(self.receive(fail)?);
        }
        Ok(ready)
    }

    /// Waits for one result; returns the chunks that became complete in order.
    fn receive(
        &mut self,
        fail: &impl Fn(&str, &dyn std::fmt::Display) -> ImportError,
    ) -> Result<Vec<Vec<Pending>>, ImportError> {
        let (index, sized) = self
            .results
            .recv()
            .map_err(|e| fail("the diff workers stopped", &e))?;
        let sizes = sized.map_err(|(id, e)| {
            fail(
                &format!("commit {id}: its files and lines could not be read"),
                &e,
            )
        })?;
        self.arrived.insert(index, sizes);
        let mut ready = Vec::new();
        while let Some(sizes) = self.arrived.remove(&self.next) {
            let Some(mut chunk) = self.waiting.pop_front() else {
                break;
            };
            for (pending, size) in chunk.iter_mut().zip(sizes) {
                // On the author's activity only, so co-authors do not multiply totals.
                if let Some(first) = pending.records.first_mut() {
                    first.change = Some(size);
                }
            }
            ready.push(chunk);
            self.next += 1;
        }
        Ok(ready)
    }
}

/// A thread's own handle on the repository, with the caches reading it needs.
fn with_caches(shared: &gix::ThreadSafeRepository) -> gix::Repository {
    let mut repo = shared.to_thread_local();
    repo.object_cache_size_if_unset(32 * 1024 * 1024);
    // Blobs are mostly deltas of their previous version: like git's 96 MiB delta-base
    // cache, keep bases by memory, not by a fixed count of entries.
    repo.objects.set_pack_cache(|| {
        Box::new(gix::odb::pack::cache::lru::MemoryCappedHashmap::new(
            128 * 1024 * 1024,
        ))
    });
    repo
}

fn diff_size(
    repo: &gix::Repository,
    id: gix::ObjectId,
    parent: Option<gix::ObjectId>,
    empty_tree: &gix::Tree<'_>,
    walk_cache: &mut gix::diff::blob::Platform,
    buffers: &mut Buffers,
) -> Result<ChangeSize, String> {
    use gix::object::tree::diff::Change;
    let commit = repo.find_commit(id).map_err(|e| e.to_string())?;
    let tree = commit.tree().map_err(|e| e.to_string())?;
    let parent_tree = match parent {
        Some(p) => repo
            .find_commit(p)
            .map_err(|e| e.to_string())?
            .tree()
            .map_err(|e| e.to_string())?,
        None => empty_tree.clone(),
    };
    let mut size = ChangeSize::default();
    let mut failed = None;
    parent_tree
        .changes()
        .map_err(|e| e.to_string())?
        .options(|o| {
            o.track_rewrites(None);
        })
        .for_each_to_obtain_tree_with_cache(&tree, walk_cache, |change| {
            // Everything but a directory is a file to git's numstat: regular and
            // executable files, symlinks (their target is the content) and submodules
            // (gitlinks, whose content reads `Subproject commit <id>`).
            if change.entry_mode().is_tree() {
                return Ok(gix::object::tree::diff::Action::Continue(()));
            }
            size.files += 1;
            let side = |id: gix::Id<'_>, mode: gix::object::tree::EntryMode| {
                (!mode.is_tree()).then(|| Side {
                    id: id.detach(),
                    gitlink: mode.is_commit(),
                })
            };
            let (before, after) = match change {
                Change::Addition { id, entry_mode, .. } => (None, side(id, entry_mode)),
                Change::Deletion { id, entry_mode, .. } => (side(id, entry_mode), None),
                Change::Modification {
                    previous_id,
                    id,
                    previous_entry_mode,
                    entry_mode,
                    ..
                } => (side(previous_id, previous_entry_mode), side(id, entry_mode)),
                Change::Rewrite {
                    source_id,
                    source_entry_mode,
                    id,
                    entry_mode,
                    ..
                } => (side(source_id, source_entry_mode), side(id, entry_mode)),
            };
            match line_counts(repo, before, after, buffers) {
                Ok(Some((added, removed))) => {
                    size.added += added;
                    size.removed += removed;
                }
                Ok(None) => {} // binary: a file, no lines (git shows `-`)
                Err(e) => failed = Some(e),
            }
            Ok(gix::object::tree::diff::Action::Continue(()))
        })
        .map_err(|e| e.to_string())?;
    match failed {
        Some(e) => Err(e),
        None => Ok(size),
    }
}

/// One side of a changed entry: a blob, or a submodule's commit.
#[derive(Clone, Copy)]
struct Side {
    id: gix::ObjectId,
    gitlink: bool,
}

/// A worker's two blob buffers, reused from one file to the next.
#[derive(Default)]
struct Buffers {
    before: Vec<u8>,
    after: Vec<u8>,
}

/// Lines added and removed between two sides, as `git diff --numstat` counts them
/// (Myers diff by line); `None` when either side is binary (a NUL in its first 8000
/// bytes, git's rule).
fn line_counts(
    repo: &gix::Repository,
    before: Option<Side>,
    after: Option<Side>,
    buffers: &mut Buffers,
) -> Result<Option<(u32, u32)>, String> {
    use gix::diff::blob::{Algorithm, Diff, InternedInput};
    use gix::objs::FindExt;
    let load = |side: Option<Side>, buffer: &mut Vec<u8>| -> Result<(), String> {
        buffer.clear();
        match side {
            // git diffs a submodule as this one line; its commit is not in this clone.
            Some(Side { id, gitlink: true }) => {
                buffer.extend_from_slice(format!("Subproject commit {id}\n").as_bytes());
            }
            Some(Side { id, .. }) => {
                // The blob is read into `buffer` (its lifetime is the buffer's).
                let len = repo
                    .objects
                    .find_blob(&id, buffer)
                    .map_err(|e| format!("object {id}: {e}"))?
                    .data
                    .len();
                buffer.truncate(len);
            }
            None => {}
        }
        Ok(())
    };
    load(before, &mut buffers.before)?;
    load(after, &mut buffers.after)?;
    let (old, new) = (buffers.before.as_slice(), buffers.after.as_slice());
    let binary = |data: &[u8]| data[..data.len().min(8000)].contains(&0);
    if binary(old) || binary(new) {
        return Ok(None);
    }
    if old.is_empty() || new.is_empty() {
        let lines = |data: &[u8]| {
            let newlines = data.iter().filter(|b| **b == b'\n').count() as u32;
            newlines + u32::from(data.last().is_some_and(|b| *b != b'\n'))
        };
        return Ok(Some((lines(new), lines(old))));
    }
    let input = InternedInput::new(old, new);
    let diff = Diff::compute(Algorithm::Myers, &input);
    Ok(Some((diff.count_additions(), diff.count_removals())))
}

/// The trailers Fairshare reads, from the message's last paragraph.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Trailers {
    pub co_authors: Vec<(Option<String>, String)>,
    pub on_behalf_of: Option<OnBehalfOf>,
}

impl Trailers {
    pub fn parse(message: &str) -> Trailers {
        let mut out = Trailers::default();
        let body: Vec<&str> = message.trim_end().lines().collect();
        let start = body
            .iter()
            .rposition(|l| l.trim().is_empty())
            .map(|i| i + 1)
            .unwrap_or(body.len());
        if start == 0 || start >= body.len() {
            return out; // a one-paragraph message has no trailers
        }
        for line in &body[start..] {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match key.trim().to_ascii_lowercase().as_str() {
                "co-authored-by" => {
                    if let Some((name, email)) = name_and_email(value) {
                        out.co_authors.push((name, email));
                    }
                }
                "on-behalf-of" => {
                    out.on_behalf_of = if let Some(slug) = value.strip_prefix('@') {
                        Some(OnBehalfOf::Org(slug.trim().to_lowercase()))
                    } else {
                        name_and_email(value).map(|(name, email)| OnBehalfOf::Email { name, email })
                    };
                }
                _ => {}
            }
        }
        out
    }
}

/// `Name <email>` or a bare address.
fn name_and_email(text: &str) -> Option<(Option<String>, String)> {
    match (text.find('<'), text.rfind('>')) {
        (Some(open), Some(close)) if open < close => {
            let name = text[..open].trim();
            Some((
                (!name.is_empty()).then(|| name.to_string()),
                text[open + 1..close].trim().to_string(),
            ))
        }
        _ if text.contains('@') => Some((None, text.trim().to_string())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailers_of_the_last_paragraph() {
        let message = "Fix the form\n\nLonger text mentioning Co-authored-by: Not <a@trailer.com> inline.\n\nCo-authored-by: Ruth Cheesley <ruth.cheesley@acquia.com>\nco-authored-by: bob@acme.com\nOn-behalf-of: @Acme\nSigned-off-by: Ana <ana@acme.com>\n";
        let t = Trailers::parse(message);
        assert_eq!(
            t.co_authors,
            vec![
                (
                    Some("Ruth Cheesley".into()),
                    "ruth.cheesley@acquia.com".into()
                ),
                (None, "bob@acme.com".into())
            ]
        );
        assert_eq!(t.on_behalf_of, Some(OnBehalfOf::Org("acme".into())));
        let t = Trailers::parse("Subject only: not a trailer");
        assert_eq!(t, Trailers::default());
        let t = Trailers::parse("Subject\n\nOn-behalf-of: Acme Ltd <dev@acme.com>");
        assert_eq!(
            t.on_behalf_of,
            Some(OnBehalfOf::Email {
                name: Some("Acme Ltd".into()),
                email: "dev@acme.com".into()
            })
        );
    }
}
