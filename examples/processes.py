"""A multiprocessing script that loses its results and re-runs itself in every child."""
from multiprocessing import Pool, Process


def collect(results, n):
    results.append(n * n)


def square(n):
    return n * n


results = []
workers = []
for n in range(3):
    p = Process(target=collect, args=(results, n))
    workers.append(p)
    p.start()
    p.join()
print(results)

pool = Pool(2)
print(pool.map(square, range(10)))
pool.close()
