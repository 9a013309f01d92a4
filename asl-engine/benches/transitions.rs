//! Criterion benchmark of in-process state transitions per second (`cargo bench -p asl-engine`):
//! (a) a 100-state Pass/Choice chain with Parameters and intrinsics (and the same chain without
//! them), (b) an inline Map over 1,000 items, (c) the order workflow with in-process stand-ins for
//! its Lambda tasks (skipped with a notice until `generated/order-processing.asl.json` exists).
//! Throughput is in elements = state transitions, so criterion prints transitions/s.

mod workloads;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn transitions(c: &mut Criterion) {
    let rt = workloads::runtime();
    let mut group = c.benchmark_group("transitions");
    for w in workloads::workloads(&rt) {
        group.throughput(Throughput::Elements(w.transitions));
        group.bench_function(w.name, |b| b.iter(|| rt.block_on(w.run_once())));
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(3));
    targets = transitions
}
criterion_main!(benches);
