"""Benchmark of the audio model grid search on a report-sized table (12,000 rows x 175 features).

Synthetic features (scikit-learn's make_classification, 7 classes, features rescaled over six orders of
magnitude like the real mel/ZCR mix, 91 speaker groups) are fine for timing. In one run:
- the project's `search_audio_model` over the report's full grid (56 candidates x 5 speaker folds, 2 jobs);
- plain `GridSearchCV` (2 jobs) over the same grid and folds: measured on a subset (all candidates with an
  intercept and l1_ratio 0.5, on one fold) and extrapolated to the whole grid and 5 folds, as said in the output;
- the best parameters of both side by side: the plain best of its measured subset, and the project's best over the
  same candidates and fold (its results hold every fold's score), so the two picks are like for like.
Both use the same pipeline, scikit-learn's default tol (1e-4) and max_iter 1000; GridSearchCV is unmodified.
Usage: python bench/bench_audio_search.py [--rows 12000] [--markdown bench/RESULTS_audio_search.md] [--shared]
"""
import os
for v in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'): os.environ.setdefault(v, '1')
import argparse, platform, time, warnings
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
    ap.add_argument('--shared', action='store_true', help='say in the results that another workload shared the machine')
    a = ap.parse_args()
    from emotion_nbdev.audio_model import make_folds, search_audio_model, plain_grid_search, expand_grid, GRIDS
    X, frame = data(a.rows)
    y = frame['emotion'].to_numpy()
    folds = make_folds(frame, 'speaker', 5)
    fast = search_audio_model(X, y, folds, 'report', jobs=a.jobs, refit=False)
    g = dict(GRIDS['report'], fit_intercept=[True], l1_ratio=[0.5])
    sub_cands = len(expand_grid(g)[0])
    warnings.filterwarnings('ignore')
    plain = plain_grid_search(X, y, folds[:1], g, jobs=a.jobs)
    res = plain.results
    # extrapolate per candidate kind: mean measured fit time x number of such candidates x 5 folds, over `jobs` workers
    kind = lambda r: 'l2' if r == 0 else ('l1' if r == 1 else 'elasticnet')
    res['kind'] = [kind(p['clf__l1_ratio']) for p in res['params']]
    cands = expand_grid('report')[0]
    per_kind = res.groupby('kind')['mean_fit_time'].sum() / res.groupby('kind').size()
    counts = pd.Series([c['penalty'] for c in cands]).value_counts()
    plain_est = float(sum(per_kind[k] * counts[k] for k in counts.index) * len(folds) / a.jobs)
    # the project's pick among the plain subset's candidates, on the plain run's fold
    sub = fast.results[[bool(c['fit_intercept']) and c['l1_ratio'] in (None, 0.5) for c in cands]]
    b_sub = sub.loc[sub['split0_test_score'].idxmax()]
    lines = ['# Audio grid search benchmark', '',
             f'Machine: {platform.machine()}, {os.cpu_count()} cores, one BLAS thread per process, {a.jobs} jobs' +
             (', shared with another engineer\'s workload during the run (timings are noisy; both searches ran in the same run)' if a.shared else '') + '. '
             f'Data: {a.rows} x 175 synthetic features (make_classification), 5 speaker-grouped folds. Command: `python bench/bench_audio_search.py`.', '',
             '| search | candidates x folds | seconds | how |', '|---|---|---|---|',
             f'| search_audio_model (report grid) | {len(cands)} x 5 | {fast.seconds:.0f} | measured |',
             f'| GridSearchCV, measured subset | {sub_cands} x 1 | {plain.seconds:.0f} | measured (intercept, l1_ratio 0.5, one fold) |',
             f'| GridSearchCV (report grid) | {len(cands)} x 5 | {plain_est:.0f} | extrapolated from the subset\'s fit times per penalty |', '',
             f'Speed-up: **{plain_est / fast.seconds:.1f}x** (goal 50x); full grid in {fast.seconds/60:.1f} min on {a.jobs} cores (goal < 3 min).', '',
             f'Project search: engine {fast.results["fitted_with"].iloc[0]!r} for every candidate, {fast.results["mean_n_iter"].mean():.0f} passes over the data per fit on average.', '',
             '| best | penalty | C | intercept | solver | l1_ratio | CV AUC (macro OvR) |', '|---|---|---|---|---|---|---|']
    for name, r in (('search_audio_model, full grid, 5 folds', fast), ('GridSearchCV, subset, 1 fold', plain)):
        b = r.best_params
        lines.append(f"| {name} | {b['penalty']} | {b['C']} | {b['fit_intercept']} | {b['solver']} | {b['l1_ratio']} | {r.best_score:.4f} |")
        if name.startswith('search'):
            l1r = None if pd.isna(b_sub['l1_ratio']) else b_sub['l1_ratio']
            lines.append(f"| search_audio_model, the subset's candidates, fold 1 | {b_sub['penalty']} | {b_sub['C']} | {b_sub['fit_intercept']} | {b_sub['solver']} | {l1r} | {b_sub['split0_test_score']:.4f} |")
    text = '\n'.join(lines)
    print(text)
    if a.markdown: Path(a.markdown).write_text(text + '\n')

if __name__ == '__main__': main()
