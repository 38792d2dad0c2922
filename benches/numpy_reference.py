"""A straightforward vectorised NumPy implementation of MODEL.md (sections 4-6),
kept to time sharecast against and to cross-check its numbers independently
(it shares no code or random streams with sharecast).

Vectorised over futures; Python loops over scenarios and years. Writes
summary.csv and impact.csv in sharecast's layout (no thresholds, horizon or
charts). Priors as strings or numbers (not the table form); LHS sampling.

    pip install numpy scipy
    python3 benches/numpy_reference.py models/ai_accelerators.toml 10000 /tmp/np_out

Measured numbers and the comparison are in README.md (Performance).
"""
import itertools, re, sys, time, tomllib, os
import numpy as np
from scipy import stats

t0 = time.time()
path, N, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
m = tomllib.load(open(path, "rb"))
rng = np.random.default_rng(int(m.get("simulation", {}).get("seed", 0)))
y0, y1 = m["model"]["start_year"], m["model"]["end_year"]
T = y1 - y0
Z95 = stats.norm.ppf(0.95)


def dist(p):
    if isinstance(p, (int, float)):
        return None, float(p)
    s = p.strip()
    mm = re.fullmatch(r"(-?[\d.e+-]+)\s+to\s+(-?[\d.e+-]+)", s)
    if mm:
        a, b = float(mm[1]), float(mm[2])
        if a > 0:
            return stats.lognorm(s=(np.log(b) - np.log(a)) / (2 * Z95), scale=np.exp((np.log(a) + np.log(b)) / 2)), None
        return stats.norm((a + b) / 2, (b - a) / (2 * Z95)), None
    name, args = re.fullmatch(r"(\w+)\((.*)\)", s).groups()
    v = [float(x) for x in args.split(",")]
    if name == "pert":
        lo, mo, hi = v
        return stats.beta(1 + 4 * (mo - lo) / (hi - lo), 1 + 4 * (hi - mo) / (hi - lo), loc=lo, scale=hi - lo), None
    if name == "normal":
        return stats.norm(v[0], v[1]), None
    if name == "lognormal":
        return stats.lognorm(s=v[1], scale=np.exp(v[0])), None
    if name == "uniform":
        return stats.uniform(v[0], v[1] - v[0]), None
    if name == "triangular":
        return stats.triang((v[1] - v[0]) / (v[2] - v[0]), loc=v[0], scale=v[2] - v[0]), None
    if name == "beta":
        return stats.beta(v[0], v[1]), None
    if name == "gamma":
        return stats.gamma(v[0], scale=v[1]), None
    raise ValueError(p)


def draw(p, lo=None, hi=None):
    d, fixed = dist(p)
    if d is None:
        return np.full(N, fixed)
    u = (rng.permutation(N) + rng.random(N)) / N  # Latin hypercube
    x = d.ppf(u)
    if lo is not None or hi is not None:
        x = np.clip(x, lo if lo is not None else -np.inf, hi if hi is not None else np.inf)
    return x


plats = list(m["platforms"])
P = len(plats)
pi_ = {p: i for i, p in enumerate(plats)}
buyers = list(m["buyers"])
B = len(buyers)
mu = np.stack([draw(m["platforms"][p].get("drift", 0)) for p in plats])
sig = np.stack([draw(m["platforms"][p].get("volatility", 0), 0) for p in plats])
avail = np.array([[y0 + k >= m["platforms"][p].get("available_from", y0) for p in plats] for k in range(T + 1)])
S0 = np.stack([draw(m["buyers"][b]["spend"], 1e-9) for b in buyers])
g = np.stack([draw(m["buyers"][b].get("growth", 0), -1) for b in buyers])
nu = np.stack([draw(m["buyers"][b].get("growth_volatility", 0), 0) for b in buyers])
beta = np.stack([draw(m["buyers"][b].get("sensitivity", 1)) for b in buyers])
lam = np.stack([draw(m["buyers"][b].get("agility", 0.2), 0, 1) for b in buyers])
mix0 = np.zeros((B, P))
phi = np.full((B, P, N), -np.inf)
for bi, b in enumerate(buyers):
    for p, v in m["buyers"][b]["mix"].items():
        mix0[bi, pi_[p]] = v
        if v > 0:
            phi[bi, pi_[p]] = np.log(v)
    for p, v in m["buyers"][b].get("affinity", {}).items():
        phi[bi, pi_[p]] = draw(v)
acc = np.isfinite(phi[:, :, 0])
eps = rng.standard_normal((T, P, N))
eta = rng.standard_normal((T, B, N))

# Deals, outcomes, effects (each effect's prior drawn once, shared by scenarios).
deals = []
for d, dd in m.get("deals", {}).items():
    outs = list(dd["outcomes"])
    effs = {}
    for o in outs:
        lst = []
        for e in dd["outcomes"][o].get("effects", []):
            e = dict(e)
            e["from"], e["to"] = e.get("from", y0 + 1), e.get("to", y1)
            key = "spend" if e["kind"] == "commitment" else "shift"
            e["draw"] = draw(e[key], 0 if e["kind"] == "commitment" else None)
            lst.append(e)
        effs[o] = lst
    deals.append((d, outs, dd.get("given"), dd.get("baseline", outs[-1]), effs, dd))
scen = []
for combo in itertools.product(*[range(len(d[1])) for d in deals]):
    prob, chosen = 1.0, {}
    for (d, outs, given, base, effs, dd), o in zip(deals, combo):
        pr = dd["outcomes"][outs[o]]["probability"]
        prob *= pr[chosen[given]] if isinstance(pr, dict) else pr
        chosen[d] = outs[o]
    scen.append((chosen, prob))
S = len(scen)
groups = m.get("groups", {})
series = plats + list(groups) + ["market"]
res = np.zeros((S, T + 1, len(series), N), dtype=np.float32)

for s, (chosen, _) in enumerate(scen):
    active = [e for (d, outs, given, base, effs, dd) in deals for e in effs[chosen[d]]]
    A = np.zeros((P, N))
    Sb = S0.copy()
    a = np.repeat(mix0[:, :, None], N, axis=2)

    def record(k):
        V = np.einsum("bn,bpn->pn", Sb, a)
        M = V.sum(0)
        sh = np.where(M > 0, V / np.where(M > 0, M, 1), 0)
        res[s, k, :P] = sh
        for gi, (gname, mem) in enumerate(groups.items()):
            res[s, k, P + gi] = sh[[pi_[x] for x in mem]].sum(0)
        res[s, k, -1] = M

    record(0)
    for k in range(1, T + 1):
        yr = y0 + k
        on = [e for e in active if e["from"] <= yr <= e["to"]]
        d = np.zeros((P, N))
        h = np.zeros((B, N))
        c = np.zeros((B, P, N))
        for e in on:
            if e["kind"] == "drift":
                d[pi_[e["platform"]]] += e["draw"]
            elif e["kind"] == "growth":
                for bi, b in enumerate(buyers):
                    if e["buyer"] in ("*", b):
                        h[bi] += e["draw"]
            elif e["kind"] == "affinity":
                for bi, b in enumerate(buyers):
                    if e["buyer"] in ("*", b) and acc[bi, pi_[e["platform"]]]:
                        c[bi, pi_[e["platform"]]] += e["draw"]
        A = A + mu + d + sig * eps[k - 1]
        Sb = Sb * np.maximum(0, 1 + g + h) * np.exp(nu * eta[k - 1] - nu**2 / 2)
        z = beta[:, None, :] * A[None] + phi + c
        z = np.where((acc & avail[k])[:, :, None], z, -np.inf)
        z = z - z.max(1, keepdims=True)
        ez = np.exp(z)
        pref = ez / ez.sum(1, keepdims=True)
        moving = (Sb > 0)[:, None, :]
        a = np.where(moving, (1 - lam[:, None, :]) * a + lam[:, None, :] * pref, a)
        f = np.zeros((B, P, N))
        for e in on:
            if e["kind"] == "commitment":
                bi = buyers.index(e["buyer"])
                f[bi, pi_[e["platform"]]] += np.where(Sb[bi] > 0, e["draw"] / np.where(Sb[bi] > 0, Sb[bi], 1), 0)
        if f.any():
            fs = f.sum(1, keepdims=True)
            floored = np.zeros_like(f, dtype=bool)
            cc = np.ones((B, 1, N))
            for _ in range(P + 1):
                fixed = np.where(floored, f, 0).sum(1, keepdims=True)
                free = np.where(floored, 0, a).sum(1, keepdims=True)
                cc = np.minimum(1, (1 - fixed) / np.where(free > 0, free, 1))
                floored = floored | (cc * a < f)
            newa = np.where(floored, f, cc * a)
            newa = np.where(fs >= 1, f / np.where(fs > 0, fs, 1), newa)
            a = np.where((fs > 0) & moving, newa, a)
        record(k)
t_sim = time.time()


def wq(vals, w, qs):
    o = np.argsort(vals, kind="stable")
    v, cw = vals[o], np.cumsum(w[o])
    return [v[min(np.searchsorted(cw, q - 1e-12), len(v) - 1)] for q in qs]


Q = [0.05, 0.25, 0.5, 0.75, 0.95]
views = [("all", [(s, p) for s, (c, p) in enumerate(scen)])]
for d, outs, *_ in deals:
    for o in outs:
        mem = [(s, p) for s, (c, p) in enumerate(scen) if c[d] == o]
        views.append((f"{d}={o}", mem))
for s, (c, p) in enumerate(scen):
    views.append((",".join(f"{d}={c[d]}" for d, *_ in deals), [(s, 1.0)]))
rows = []
for name, mem in views:
    tot = sum(p for _, p in mem)
    idx = [s for s, _ in mem]
    w = np.repeat([p / tot / N for _, p in mem], N)
    for k in range(T + 1):
        for j, sr in enumerate(series):
            if len(mem) == 1:
                x = res[idx[0], k, j].astype(np.float64)
                q = np.quantile(x, Q)
                rows.append((name, y0 + k, sr, x.mean(), x.std(), *q))
            else:
                x = res[idx, k, j].reshape(-1).astype(np.float64)
                mean = (w * x).sum()
                rows.append((name, y0 + k, sr, mean, np.sqrt((w * (x - mean) ** 2).sum()), *wq(x, w, Q)))
imp = []
for di, (d, outs, given, base, effs, dd) in enumerate(deals):
    for o in outs:
        if o == base:
            continue
        pairs = []
        for s, (c, p) in enumerate(scen):
            if c[d] == o:
                c2 = dict(c)
                c2[d] = base
                b = next(i for i, (cc, _) in enumerate(scen) if cc == c2)
                if scen[b][1] > 0:
                    pairs.append((s, b, p))
        tot = sum(p for *_, p in pairs)
        w = np.repeat([p / tot / N for *_, p in pairs], N)
        for k in range(T + 1):
            for j, sr in enumerate(series):
                x = np.concatenate([res[s, k, j] - res[b, k, j] for s, b, _ in pairs]).astype(np.float64)
                imp.append((d, o, y0 + k, sr, (w * x).sum(), *wq(x, w, [0.05, 0.5, 0.95])))
os.makedirs(out, exist_ok=True)
with open(f"{out}/summary.csv", "w") as f:
    f.write("scenario,year,series,mean,sd,p05,p25,p50,p75,p95\n")
    for r in rows:
        f.write('"%s",%d,%s,' % r[:3] + ",".join(repr(float(v)) for v in r[3:]) + "\n")
with open(f"{out}/impact.csv", "w") as f:
    f.write("deal,outcome,year,series,mean,p05,p50,p95\n")
    for r in imp:
        f.write("%s,%s,%d,%s," % r[:4] + ",".join(repr(float(v)) for v in r[4:]) + "\n")
t_end = time.time()
print(f"simulate {t_sim - t0:.2f} s, summarise+write {t_end - t_sim:.2f} s, total {t_end - t0:.2f} s")
