"""Benchmark of the audio model grid search on a report-sized table (12,000 rows x 175 features).

Synthetic features (scikit-learn's make_classification, 7 classes, features rescaled over six orders of
magnitude like the real mel/ZCR mix, 91 speaker groups) are fine for timing. In one run:
- the project's `search_audio_model` over the report's full grid (56 candidates x 5 speaker folds, 2 jobs);
- plain `GridSearchCV` (2 jobs) over the same grid and folds: measured on a subset (all candidates with an
  intercept and l1_ratio 0.5, on one fold) and extrapolated to the whole grid and 5 folds, as said in the output;
- the project's search on that same subset and fold, measured, so one ratio compares two measured times;
- the best parameters side by side: the project's over the full grid, and both searches' over the subset.
Both use the same pipeline, scikit-learn's default tol (1e-4) and max_iter 1000; GridSearchCV is unmodified.
The project's search fits every candidate from zero with the classifier its refit uses (`ProxLogisticRegression`).
Usage: python bench/bench_audio_search.py [--rows 12000] [--markdown bench/RESULTS_audio_search.md] [--shared]
"""
import os
for v in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'): os.environ.setdefault(v, '1')
import argparse, platform, time
from pathlib import Path
import numpy as np
import pandas as pd

def data(rows, seed=0):
    from sklearn.datasets import make_classification
    X, y = make_classification(n_samples=rows, n_features=175, n_informative=30, n_redundant=60, n_classes=7,
                               n_clusters_per_class=2, class_sep=0.8, flip_y=0.05, random_state=seed)
    X *= np.random.default_rng(seed).lognormal(0, 2, 175)  # mixed scales, as mel power vs ZCR
    spk = np.arange(rows) % 91
    frame = pd.DataFrame(X, columns=[f'f{i}' for i in range(175)])
    frame = frame.assign(emotion=np.array(['anger', 'disgust', 'fear', 'happiness', 'neutral', 'sadness', 'surprise'])[y],
                         dataset='bench', speaker=spk.astype(str), augment='none', source=[f'c{i}' for i in range(rows)], synthetic=True)
    return X, frame

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--rows', type=int, default=12000)
    ap.add_argument('--jobs', type=int, default=2)
    ap.add_argument('--markdown')
    ap.add_argument('--shared', action='store_true', help='say in the results that other work shared the machine')
    a = ap.parse_args()
    from emotion_nbdev.audio_model import make_folds, search_audio_model, plain_grid_search, expand_grid, GRIDS
    X, frame = data(a.rows)
    y = frame['emotion'].to_numpy()
    folds = make_folds(frame, 'speaker', 5)
    fast = search_audio_model(X, y, folds, 'report', jobs=a.jobs, refit=False)
    g = dict(GRIDS['report'], fit_intercept=[True], l1_ratio=[0.5])
    sub_cands = len(expand_grid(g)[0])
    fast_sub = search_audio_model(X, y, folds[:1], g, jobs=a.jobs, refit=False)
    plain = plain_grid_search(X, y, folds[:1], g, jobs=a.jobs)
    res = plain.results
    # extrapolate per candidate kind: mean measured fit time x number of such candidates x 5 folds, over `jobs` workers
    kind = lambda r: 'l2' if r == 0 else ('l1' if r == 1 else 'elasticnet')
    res['kind'] = [kind(p['clf__l1_ratio']) for p in res['params']]
    cands = expand_grid('report')[0]
    per_kind = res.groupby('kind')['mean_fit_time'].sum() / res.groupby('kind').size()
    counts = pd.Series([c['penalty'] for c in cands]).value_counts()
    plain_est = float(sum(per_kind[k] * counts[k] for k in counts.index) * len(folds) / a.jobs)
    lines = ['# Audio grid search benchmark', '',
             f'Machine: {platform.machine()}, {os.cpu_count()} cores, one BLAS thread per process, {a.jobs} jobs' +
             (', shared with other work during the run (timings are noisy; both searches ran in the same run)' if a.shared else '') + '. '
             f'Data: {a.rows} x 175 synthetic features (make_classification), 5 speaker-grouped folds. Command: `python bench/bench_audio_search.py`.', '',
             '| search | candidates x folds | seconds | how |', '|---|---|---|---|',
             f'| search_audio_model (report grid) | {len(cands)} x 5 | {fast.seconds:.0f} | measured |',
             f'| search_audio_model, subset | {sub_cands} x 1 | {fast_sub.seconds:.1f} | measured (intercept, l1_ratio 0.5, one fold) |',
             f'| GridSearchCV, subset | {sub_cands} x 1 | {plain.seconds:.0f} | measured (the same subset and fold) |',
             f'| GridSearchCV (report grid) | {len(cands)} x 5 | {plain_est:.0f} | extrapolated from the subset\'s fit times per penalty |', '',
             f'Speed-up, both measured (subset, one fold): **{plain.seconds / fast_sub.seconds:.1f}x**. '
             f'Speed-up, measured full-grid search against extrapolated full-grid GridSearchCV: **{plain_est / fast.seconds:.1f}x** (goal 50x). '
             f'Full grid in {fast.seconds/60:.1f} min on {a.jobs} cores (goal < 3 min).', '',
             f'Project search: solver {fast.results["fitted_with"].iloc[0]!r} for every candidate, each fit from zero, '
             f'{fast.results["mean_n_iter"].mean():.0f} passes over the data per fit on average; '
             f'{fast.results["converged"].mean():.0%} of the fits stopped by the tolerance rule before max_iter.', '',
             '| best | penalty | C | intercept | solver | l1_ratio | CV AUC (macro OvR) |', '|---|---|---|---|---|---|---|']
    for name, r in (('search_audio_model, full grid, 5 folds', fast), ('search_audio_model, subset, 1 fold', fast_sub), ('GridSearchCV, subset, 1 fold', plain)):
        b = r.best_params
        lines.append(f"| {name} | {b['penalty']} | {b['C']} | {b['fit_intercept']} | {b['solver']} | {b['l1_ratio']} | {r.best_score:.4f} |")
    text = '\n'.join(lines)
    print(text)
    if a.markdown: Path(a.markdown).write_text(text + '\n')

if __name__ == '__main__': main()
