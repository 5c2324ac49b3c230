import numpy as np
from scipy import stats
x=[12.1, 15.3, 9.8, 22.4, 18.0, 11.7, 14.2]
y=[19.5, 25.1, 17.3, 30.2, 21.8, 16.4, 28.9, 23.3]
for alt in ["two-sided","greater","less"]:
    r=stats.mannwhitneyu(x,y,alternative=alt,method="auto"); print("exact",alt,r.statistic,repr(r.pvalue))
# ties, asymptotic
a=[1,2,2,3,3,3,4,5,5,6,7,7,8,9,10]
b=[3,4,4,5,6,6,7,8,8,9,9,10,11,12,12,13]
for alt in ["two-sided","greater","less"]:
    r=stats.mannwhitneyu(a,b,alternative=alt,method="asymptotic",use_continuity=True); print("ties",alt,r.statistic,repr(r.pvalue))
# larger, lognormal, seeded numpy
rng=np.random.default_rng(7)
c=np.round(rng.lognormal(np.log(100),0.4,40),1); d=np.round(rng.lognormal(np.log(115),0.4,45),1)
print("c=",list(c)); print("d=",list(d))
for alt in ["two-sided","greater","less"]:
    r=stats.mannwhitneyu(d,c,alternative=alt,method="asymptotic"); print("big",alt,r.statistic,repr(r.pvalue))
r=stats.mannwhitneyu(d,c,alternative="greater",method="auto"); print("big auto",r.statistic,repr(r.pvalue))
# HL shift y - x
def hl(x,y,conf=0.95):
    diffs=np.sort(np.subtract.outer(np.array(y),np.array(x)).ravel()); N=len(diffs)
    z=stats.norm.ppf(1-(1-conf)/2); C=max(1,int(np.floor(N/2 - z*np.sqrt(len(x)*len(y)*(len(x)+len(y)+1)/12))))
    return np.median(diffs), diffs[C-1], diffs[N-C], C
print("hl xy",hl(x,y)); print("hl cd",hl(c,d)); print("hl cd 90",hl(c,d,0.9))
# two-proportion
for (x1,n1,x2,n2) in [(30,1000,15,1000),(12.5,400,4,380)]:
    p=(x1+x2)/(n1+n2); se=np.sqrt(p*(1-p)*(1/n1+1/n2)); z=(x1/n1-x2/n2)/se
    print("prop",x1,n1,x2,n2,repr(z),repr(stats.norm.sf(z)),repr(2*stats.norm.sf(abs(z))),repr(stats.norm.cdf(z)))
for v in [0.5,1.96,-2.5,3.7,6.0]: print("sf",v,repr(stats.norm.sf(v)))
for q in [0.975,0.95,0.001,0.9999]: print("ppf",q,repr(stats.norm.ppf(q)))
