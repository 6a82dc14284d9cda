//! haproxy.cfg model, `haproxy -c` and lint rules.
