"""five.py - a real five-thread program for the capture's size figures
(tests/capture/run.py's size case, 5 s; bench/capture_size.py --program five, 10 minutes):
two threads of stdlib work (json, re), one that mostly sleeps, one that waits
on a queue and wakes for bursts of work that the main thread feeds it now
and then, so some stacks repeat for long runs and some change at every
sample. Runs until killed."""
import threading, json, re, difflib, random, time, queue
def j():
    d = {"a": [random.random() for _ in range(200)], "b": {"c": "x" * 100}}
    while True: json.loads(json.dumps(d))
def r():
    text = "hello world 123 foo@bar.com " * 200
    while True: re.findall(r"\w+@\w+\.\w+", text); re.sub(r"\d+", "N", text)
def sleeper():
    while True:
        time.sleep(0.5)
        sorted(random.random() for _ in range(2000))
jobs = queue.Queue()
def worker():
    a = [str(random.random()) for _ in range(300)]; b = a[:]; random.shuffle(b)
    while True:
        jobs.get()
        list(difflib.unified_diff(a, b))
for f in (j, r, sleeper, worker):
    threading.Thread(target=f, daemon=True).start()
while True:  # the main thread feeds the worker a burst of jobs now and then
    time.sleep(random.random())
    for _ in range(random.randrange(1, 20)): jobs.put(1)
