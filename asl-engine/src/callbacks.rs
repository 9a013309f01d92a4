//! Task tokens: a `.waitForTaskToken` Task hands out `$$.Task.Token` and then waits until
//! someone answers for it with SendTaskSuccess or SendTaskFailure (SendTaskHeartbeat keeps it
//! alive under `HeartbeatSeconds`). An activity Task queues its input and token for a worker,
//! which takes it with GetActivityTask and answers the same way. One [`Callbacks`] registry is
//! shared by every execution of an [`crate::Engine`]; the endpoint's operations and in-process
//! code answer through it.
//! <https://docs.aws.amazon.com/step-functions/latest/dg/connect-to-resource.html#connect-wait-token>,
//! <https://docs.aws.amazon.com/step-functions/latest/dg/concepts-activities.html>

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{oneshot, Notify};

/// How a waiting task ends.
#[derive(Debug, Clone, PartialEq)]
pub enum CallbackOutcome {
    /// SendTaskSuccess: the task's result.
    Success(Value),
    /// SendTaskFailure: the task fails with this error and cause.
    Failure {
        /// The error name (`States.TaskFailed`-style names are the sender's choice).
        error: String,
        /// The cause.
        cause: String,
    },
}

/// Why a token could not be answered, as the Step Functions API names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    /// No task waits for this token (never issued, already answered, or its execution ended).
    #[error("TaskDoesNotExist")]
    TaskDoesNotExist,
    /// The task waited for this token timed out (`TimeoutSeconds` or `HeartbeatSeconds`).
    #[error("TaskTimedOut")]
    TaskTimedOut,
}

struct Waiting {
    answer: oneshot::Sender<CallbackOutcome>,
    heartbeat: Arc<Notify>,
}

/// How many timed-out tokens are remembered to answer TaskTimedOut rather than TaskDoesNotExist.
const REMEMBERED_TIMEOUTS: usize = 10_000;

/// The tokens tasks are waiting on, and the activity tasks waiting for a worker.
#[derive(Default)]
pub struct Callbacks {
    waiting: Mutex<HashMap<String, Waiting>>,
    timed_out: Mutex<VecDeque<String>>,
    activities: Mutex<HashMap<String, ActivityQueue>>,
}

/// The tasks of one activity that no worker took yet, oldest first.
#[derive(Default)]
struct ActivityQueue {
    pending: VecDeque<Scheduled>,
    arrived: Arc<Notify>,
}

struct Scheduled {
    token: String,
    input: String,
    /// Told the worker's name when a worker takes the task.
    started: oneshot::Sender<String>,
}

/// An activity task as a worker gets it (GetActivityTask).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityTask {
    /// The token to answer with SendTaskSuccess/Failure/Heartbeat.
    pub token: String,
    /// The task's input (JSON text).
    pub input: String,
}

impl std::fmt::Debug for Callbacks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Callbacks")
            .field("waiting", &self.waiting())
            .finish()
    }
}

/// A task's side of a token: the answer, and the heartbeats.
pub(crate) struct Waiter {
    pub answer: oneshot::Receiver<CallbackOutcome>,
    pub heartbeat: Arc<Notify>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Callbacks {
    /// Starts waiting on `token` (before the integration that hands it out is called, so an
    /// answer that comes back at once is not missed).
    pub(crate) fn register(&self, token: &str) -> Waiter {
        let (answer, receiver) = oneshot::channel();
        let heartbeat = Arc::new(Notify::new());
        lock(&self.waiting).insert(
            token.to_string(),
            Waiting {
                answer,
                heartbeat: heartbeat.clone(),
            },
        );
        Waiter {
            answer: receiver,
            heartbeat,
        }
    }

    /// Stops waiting on `token` (its task failed or ended); `timed_out` remembers why.
    pub(crate) fn forget(&self, token: &str, timed_out: bool) {
        lock(&self.waiting).remove(token);
        if timed_out {
            let mut remembered = lock(&self.timed_out);
            if remembered.len() >= REMEMBERED_TIMEOUTS {
                remembered.pop_front();
            }
            remembered.push_back(token.to_string());
        }
    }

    fn missing(&self, token: &str) -> CallbackError {
        if lock(&self.timed_out).iter().any(|t| t == token) {
            CallbackError::TaskTimedOut
        } else {
            CallbackError::TaskDoesNotExist
        }
    }

    /// Answers the task waiting on `token` (SendTaskSuccess, SendTaskFailure).
    pub fn answer(&self, token: &str, outcome: CallbackOutcome) -> Result<(), CallbackError> {
        let waiting = lock(&self.waiting).remove(token);
        match waiting {
            Some(w) => w
                .answer
                .send(outcome)
                .map_err(|_| CallbackError::TaskDoesNotExist),
            None => Err(self.missing(token)),
        }
    }

    /// Records a heartbeat of the task waiting on `token` (SendTaskHeartbeat).
    pub fn heartbeat(&self, token: &str) -> Result<(), CallbackError> {
        let waiting = lock(&self.waiting);
        match waiting.get(token) {
            Some(w) if !w.answer.is_closed() => {
                w.heartbeat.notify_one();
                Ok(())
            }
            Some(_) => Err(CallbackError::TaskDoesNotExist),
            None => {
                drop(waiting);
                Err(self.missing(token))
            }
        }
    }

    /// How many tasks wait on a token now.
    pub fn waiting(&self) -> usize {
        lock(&self.waiting).len()
    }

    /// Queues an activity task for the workers of `activity`; the receiver learns the name of
    /// the worker that takes it.
    pub(crate) fn schedule_activity(
        &self,
        activity: &str,
        token: &str,
        input: String,
    ) -> oneshot::Receiver<String> {
        let (started, receiver) = oneshot::channel();
        let mut activities = lock(&self.activities);
        let queue = activities.entry(activity.to_string()).or_default();
        queue.pending.push_back(Scheduled {
            token: token.to_string(),
            input,
            started,
        });
        queue.arrived.notify_one();
        receiver
    }

    /// Takes the oldest task of `activity` a worker can still run (its execution still waits).
    fn take_activity_task(&self, activity: &str, worker: &str) -> Option<ActivityTask> {
        let mut activities = lock(&self.activities);
        let queue = activities.get_mut(activity)?;
        while let Some(task) = queue.pending.pop_front() {
            if task.started.send(worker.to_string()).is_ok() {
                return Some(ActivityTask {
                    token: task.token,
                    input: task.input,
                });
            }
        }
        None
    }

    /// GetActivityTask: the oldest waiting task of `activity`, waiting up to `wait` for one.
    pub async fn next_activity_task(
        &self,
        activity: &str,
        worker: &str,
        wait: Duration,
    ) -> Option<ActivityTask> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(task) = self.take_activity_task(activity, worker) {
                return Some(task);
            }
            let arrived = lock(&self.activities)
                .entry(activity.to_string())
                .or_default()
                .arrived
                .clone();
            tokio::select! {
                _ = arrived.notified() => {}
                _ = tokio::time::sleep_until(deadline) => {
                    return self.take_activity_task(activity, worker);
                }
            }
        }
    }

    /// Drops the activity tasks no worker took of `activity` (an activity being deleted).
    pub fn clear_activity(&self, activity: &str) -> usize {
        lock(&self.activities)
            .remove(activity)
            .map_or(0, |q| q.pending.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn an_answer_reaches_its_waiter_once() {
        let callbacks = Callbacks::default();
        let waiter = callbacks.register("t-1");
        callbacks
            .answer("t-1", CallbackOutcome::Success(json!({"ok": true})))
            .unwrap();
        assert_eq!(
            waiter.answer.await.unwrap(),
            CallbackOutcome::Success(json!({"ok": true}))
        );
        assert_eq!(
            callbacks.answer("t-1", CallbackOutcome::Success(json!(1))),
            Err(CallbackError::TaskDoesNotExist)
        );
        assert_eq!(
            callbacks.heartbeat("nope"),
            Err(CallbackError::TaskDoesNotExist)
        );
    }

    #[tokio::test]
    async fn timed_out_tokens_say_so() {
        let callbacks = Callbacks::default();
        let _waiter = callbacks.register("t-2");
        callbacks.forget("t-2", true);
        assert_eq!(callbacks.heartbeat("t-2"), Err(CallbackError::TaskTimedOut));
        assert_eq!(
            callbacks.answer("t-2", CallbackOutcome::Success(json!(1))),
            Err(CallbackError::TaskTimedOut)
        );
        assert_eq!(callbacks.waiting(), 0);
    }

    #[tokio::test]
    async fn workers_take_activity_tasks_oldest_first_and_wait_for_new_ones() {
        let callbacks = Arc::new(Callbacks::default());
        let first = callbacks.schedule_activity("act", "t-a", "{\"n\":1}".into());
        let _second = callbacks.schedule_activity("act", "t-b", "{\"n\":2}".into());
        let task = callbacks
            .next_activity_task("act", "w-1", Duration::from_millis(10))
            .await
            .unwrap();
        assert_eq!(task.token, "t-a");
        assert_eq!(first.await.unwrap(), "w-1");
        assert_eq!(
            callbacks
                .next_activity_task("act", "w-1", Duration::ZERO)
                .await
                .unwrap()
                .token,
            "t-b"
        );
        // A long poll gets a task scheduled while it waits.
        let poller = {
            let callbacks = callbacks.clone();
            tokio::spawn(async move {
                callbacks
                    .next_activity_task("act", "w-2", Duration::from_secs(5))
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let _third = callbacks.schedule_activity("act", "t-c", "{}".into());
        assert_eq!(poller.await.unwrap().unwrap().token, "t-c");
        // A task whose execution stopped waiting is skipped; an empty poll ends with nothing.
        drop(callbacks.schedule_activity("act", "t-gone", "{}".into()));
        assert!(callbacks
            .next_activity_task("act", "w-1", Duration::from_millis(20))
            .await
            .is_none());
    }

    #[tokio::test]
    async fn a_dropped_waiter_is_no_task() {
        let callbacks = Callbacks::default();
        drop(callbacks.register("t-3"));
        assert_eq!(
            callbacks.heartbeat("t-3"),
            Err(CallbackError::TaskDoesNotExist)
        );
    }
}
