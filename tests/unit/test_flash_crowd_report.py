"""bench/flash_crowd.py's report of the first wave: which requests it counts, when
their answers came, how long their connects took, and the kernel's counters."""

from __future__ import annotations

from bench.flash_crowd import TCP_COUNTERS, Answer, Crowd, tcp_counters


def test_the_first_wave_is_the_requests_sent_in_the_release_s_first_second() -> None:
    answers = [
        # citizen, status, code, latency, answered (s after the release)
        Answer(0, 201, "", 1.5, 1.6),  # sent at 0.1: the wave, a booking
        Answer(1, 503, "overloaded", 1.2, 1.4),  # sent at 0.2: the wave
        Answer(2, 503, "overloaded", 0.9, 1.8),  # sent at 0.9: the wave, answered after 1 s
        Answer(3, 503, "overloaded", 0.3, 0.5),  # sent at 0.2, answered within the second
        Answer(1, 201, "", 0.4, 3.4),  # sent at 3.0 (its return): not the wave
    ]
    crowd = Crowd(answers, wall=3.4, sold_out_at=3.4, connects=[(0.0, 0.3), (0.1, 1.2), (2.9, 0.01)])
    assert crowd.first_wave() == (
        "4 requests sent in the first second, 1 answered in it; connects 750 ms median, 1200 ms most "
        "(1 over 1 s); their 503s answered after 1.40 s (median), their bookings after 1.60 s"
    )


def test_the_kernel_s_listen_and_syn_counters_are_read() -> None:
    counted = tcp_counters()
    assert set(counted) <= set(TCP_COUNTERS)
    assert {"ListenOverflows", "ListenDrops", "RetransSegs"} <= set(counted)  # Linux has them
    assert all(isinstance(v, int) and v >= 0 for v in counted.values())
