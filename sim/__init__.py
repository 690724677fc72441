"""Capacity-planning simulation of the 一证通查 platform (SimPy, event level).

One concept a module: :mod:`.scenario` (validated frozen input), :mod:`.arrivals`, :mod:`.station`
(multi-server FCFS queue), :mod:`.operators` (fan-out calls), :mod:`.sms`, :mod:`.callcentre`,
:mod:`.engine` (wiring, one replication → plain records), :mod:`.records`, :mod:`.stats`,
:mod:`.theory`, :mod:`.replicate` (Executors) and :mod:`.results` (JSON and verdicts).
"""
