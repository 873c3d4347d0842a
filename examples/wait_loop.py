import threading

ready = threading.Event()


def wait_until_ready():
    while not ready.is_set():
        pass
    print("ready")
