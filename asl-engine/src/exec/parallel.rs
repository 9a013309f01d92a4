//! Parallel states: branches run concurrently, each in its own scope.

use super::*;

impl Run<'_> {
    pub(super) async fn parallel(
        &self,
        st: &St<'_>,
        branches: &[Graph],
        input: Value,
        scope: &mut Scope,
        prev: &mut u64,
    ) -> Result<Value, Thrown> {
        let started = self.emit(prev, E::ParallelStateStarted, || None);
        let parent = Arc::new(std::mem::take(scope));
        // A redrive runs only the branches that did not succeed before; the others' results stay
        // where they were.
        let mut done = self.before(st).done;
        let result = {
            let mut outs: Vec<Value> = vec![Value::Null; branches.len()];
            let mut running = FuturesUnordered::new();
            for (i, g) in branches.iter().enumerate() {
                if let Some(v) = done.remove(&i) {
                    outs[i] = v;
                    continue;
                }
                let parent = parent.clone();
                let input = input.clone();
                running.push(async move {
                    let mut scope = Scope::child(parent);
                    let mut p = started;
                    let r = self.run_graph(g, input, &mut scope, &mut p).await;
                    (i, r, p)
                });
            }
            let mut failure = None;
            let mut last = started;
            while let Some((i, r, p)) = running.next().await {
                last = last.max(p);
                match r {
                    Ok(v) => outs[i] = v,
                    Err(f) => {
                        failure = Some(f);
                        break;
                    }
                }
            }
            *prev = last;
            match failure {
                None => Ok(Value::Array(outs)),
                Some(f) => Err(f),
            }
        };
        *scope = Arc::try_unwrap(parent).unwrap_or_default();
        match result {
            Ok(v) => {
                self.emit(prev, E::ParallelStateSucceeded, || None);
                Ok(v)
            }
            Err(f) => {
                self.emit(prev, E::ParallelStateFailed, || None);
                Err(Thrown::plain(f))
            }
        }
    }
}
