//! Host probes (irqbalance, CPUs) and logging (rsyslog, syslog listener).
