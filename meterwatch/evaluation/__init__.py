"""Evaluation harness: the protocol of docs/domain-notes.md (80/20 split, labelled injections, metrics).

The harness measures a detector on a lake's own data: it injects labelled manipulations
(families h1 to h8) into the newest 20 % of about half the customers, runs the detector and
scores it per customer and per hour. It also measures forecast accuracy at the prototype's
frequency. Nothing here writes to the evaluated lake.
"""
