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
        let result = {
            let mut running = FuturesUnordered::new();
            for (i, g) in branches.iter().enumerate() {
                let parent = parent.clone();
                let input = input.clone();
                running.push(async move {
                    let mut scope = Scope::child(parent);
                    let mut p = started;
                    let r = self.run_graph(g, input, &mut scope, &mut p).await;
                    (i, r, p)
                });
            }
            let mut outs: Vec<Value> = vec![Value::Null; branches.len()];
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
                let _ = st;
                Err(Thrown::plain(f))
            }
        }
    }
}
