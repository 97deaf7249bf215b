"""Mapping variants for EMCDR on Amazon Toys <-> Video Games, scored on the validation users.

A numpy prototype, not part of the library: it checks whether a change to the ALS + linear-map
pipeline is worth building before it is built. Same data and split as bench/transfer-amazon.ts,
ALS (Hu et al. 2008) with exact per-row solves, a ridge map with an unpenalised bias learned on the
users present in both domains, full-ranking NDCG@10 of the cold validation users.

Variants: one seed (the library's shape); an ensemble of S seeds, one map per seed, per-user
max-scaled scores summed; one map over the concatenated factors of the S seeds; a popularity prior
added to the ensemble's scores; target ALS with the mapped source factors as a prior on the
overlapping users' target factors ("joint", weight w, 4 rounds).

    python3 bench/transfer-variants.py [--factors 64] [--seeds 3] [--alpha 40] [--joint 1,10,100]

Needs python3-numpy and python3-scipy; reads ../shared/data/amazon-toys-videogames (never copied).
Single-threaded BLAS is advised for stable timings: OPENBLAS_NUM_THREADS=1.
"""
import argparse
import csv
import os

import numpy as np
import scipy.sparse as sp

ap = argparse.ArgumentParser()
ap.add_argument('--data', default=os.path.join(os.path.dirname(__file__), '..', '..', 'shared', 'data', 'amazon-toys-videogames'))
ap.add_argument('--factors', type=int, default=64)
ap.add_argument('--seeds', type=int, default=3)
ap.add_argument('--alpha', type=float, default=40.0)
ap.add_argument('--reg', type=float, default=0.05)
ap.add_argument('--iterations', type=int, default=8)
ap.add_argument('--joint', default='1,10,100')
args = ap.parse_args()
d = args.factors

rows = list(csv.DictReader(open(os.path.join(args.data, 'train.csv'))))
users, items = {}, {'toys': {}, 'videogames': {}}
for r in rows:
    users.setdefault(r['user'], len(users))
    items[r['domain']].setdefault(r['item'], len(items[r['domain']]))
n_users = len(users)


def matrix(dom):
    pairs = sorted({(users[r['user']], items[dom][r['item']]) for r in rows if r['domain'] == dom})
    a = np.array(pairs)
    return sp.csr_matrix((np.ones(len(a)), (a[:, 0], a[:, 1])), shape=(n_users, len(items[dom])))


X = {dom: matrix(dom) for dom in items}


def truth(dom):
    t = {}
    for r in csv.DictReader(open(os.path.join(args.data, 'valid.csv'))):
        if r['domain'] == dom:
            t.setdefault(users[r['user']], set()).add(items[dom].get(r['item'], -1))
    return t


def ndcg_at_10(scores, tr):
    total = 0.0
    for row, u in zip(scores, sorted(tr)):
        top = np.argsort(-row, kind='stable')[:10]
        dcg = sum(1 / np.log2(i + 2) for i, x in enumerate(top) if x in tr[u])
        total += dcg / sum(1 / np.log2(i + 2) for i in range(min(10, len(tr[u]))))
    return round(float(total / len(tr)), 4)


def solve_rows(m, y, prior=None, weight=0.0, has_prior=None):
    """Rows of argmin sum_i c_ui (p_ui - x.y_i)^2 + reg |x|^2 (+ weight |x - prior_u|^2)."""
    gram = y.T @ y
    out = np.zeros((m.shape[0], d))
    for u in range(m.shape[0]):
        s, e = m.indptr[u], m.indptr[u + 1]
        with_prior = prior is not None and has_prior[u]
        if s == e and not with_prior:
            continue
        yu = y[m.indices[s:e]]
        a = gram + args.alpha * (yu.T @ yu) + args.reg * np.eye(d)
        b = (1 + args.alpha) * yu.sum(0)
        if with_prior:
            a = a + weight * np.eye(d)
            b = b + weight * prior[u]
        out[u] = np.linalg.solve(a, b)
    return out


def als(m, seed):
    rng = np.random.default_rng(seed)
    v = rng.normal(0, 0.01, (m.shape[1], d))
    mt = m.T.tocsr()
    for _ in range(args.iterations):
        u = solve_rows(m, v)
        v = solve_rows(mt, u)
    return u, v


def ridge(a, b, lam):
    a1 = np.hstack([a, np.ones((len(a), 1))])
    pen = lam * np.eye(a1.shape[1])
    pen[-1, -1] = 0
    return np.linalg.solve(a1.T @ a1 + pen, a1.T @ b)


def apply(a, w):
    return np.hstack([a, np.ones((len(a), 1))]) @ w


factors = [{dom: als(X[dom], seed) for dom in X} for seed in range(args.seeds)]
grid = [1, 10, 100, 1000]
for tgt, src in [('toys', 'videogames'), ('videogames', 'toys')]:
    tr = truth(tgt)
    cold = np.array(sorted(tr))
    both = np.where((np.diff(X[src].indptr) > 0) & (np.diff(X[tgt].indptr) > 0))[0]
    log_pop = np.log1p(np.asarray(X[tgt].sum(0)).ravel())
    log_pop /= log_pop.max()
    print(f'== {src} -> {tgt}: {len(both)} users in both domains, {len(tr)} cold validation users, d={d}')
    for lam in grid:
        one, ens = None, 0
        for f in factors:
            us, _ = f[src]
            ut, vt = f[tgt]
            s = apply(us[cold], ridge(us[both], ut[both], lam)) @ vt.T
            s = s / np.abs(s).max(1, keepdims=True)
            one = ndcg_at_10(s, tr) if one is None else one
            ens = ens + s
        cat_s = np.hstack([f[src][0] for f in factors])
        cat_t = np.hstack([f[tgt][0] for f in factors])
        cat_v = np.hstack([f[tgt][1] for f in factors])
        concat = ndcg_at_10(apply(cat_s[cold], ridge(cat_s[both], cat_t[both], lam)) @ cat_v.T, tr)
        pop = {g: ndcg_at_10(ens / len(factors) + g * log_pop, tr) for g in [0.02, 0.05, 0.1]}
        print(f'ridge {lam}: one seed {one}; {len(factors)} seeds summed {ndcg_at_10(ens, tr)}; concatenated {concat}; popularity prior {pop}')
    us, _ = factors[0][src]
    ut0, vt0 = factors[0][tgt]
    in_both = np.zeros(n_users, bool)
    in_both[both] = True
    mt = X[tgt].T.tocsr()
    for weight in [float(x) for x in args.joint.split(',') if x]:
        for lam in [10, 100]:
            ut, vt, curve = ut0.copy(), vt0.copy(), []
            for _ in range(4):
                prior = apply(us, ridge(us[both], ut[both], lam))
                ut = solve_rows(X[tgt], vt, prior, weight, in_both)
                vt = solve_rows(mt, ut)
                curve.append(ndcg_at_10(apply(us[cold], ridge(us[both], ut[both], lam)) @ vt.T, tr))
            print(f'joint weight {weight}, ridge {lam}: rounds 1-4 {curve}')
