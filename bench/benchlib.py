"""What the SQL benches share: timing engines in interleaved rounds and the
Quiver-vs-DuckDB table row. Each bench keeps its own data and queries."""
import statistics
import time


def interleaved(engines, rounds):
    """Run each (name, fn) of engines once per round, the starting engine
    rotating each round so neither always runs on a warm (or loaded) machine
    first. Returns {name: [seconds per round]}."""
    times = {name: [] for name, _ in engines}
    for rnd in range(rounds):
        k = rnd % len(engines)
        for name, fn in engines[k:] + engines[:k]:
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return times


def vs_duckdb_row(label, times, digits=1):
    """| label | Quiver ms median (min..max) | DuckDB ms ... | ratio median (min..max) |:
    the ratio is Quiver / DuckDB per round."""
    q, d = times["Quiver"], times["DuckDB"]
    qm, dm = statistics.median(q), statistics.median(d)
    ratios = sorted(a / b for a, b in zip(q, d))
    f = "%%.%df" % digits
    ms = lambda v: f % (v * 1000)  # noqa: E731
    return "| %s | %s (%s..%s) | %s (%s..%s) | %.2f (%.2f..%.2f) |" % (
        label, ms(qm), ms(min(q)), ms(max(q)), ms(dm), ms(min(d)), ms(max(d)), qm / dm, ratios[0], ratios[-1])
