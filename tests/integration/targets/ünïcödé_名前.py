"""Python-3-only helper module of the "nonascii" target, with a non-ASCII file
name and non-ASCII identifiers; its functions park forever. Imported by
nonascii.py.
"""
import time


def grüß_dich():
    while True:
        time.sleep(3600)  # park


def 日本():
    def 内側():
        while True:
            time.sleep(3600)  # park
    内側()


class Übung:
    def läuft(self):
        while True:
            time.sleep(3600)  # park
