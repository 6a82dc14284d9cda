use super::*;
use crate::config::model::parse_config;
use std::collections::HashSet;

/// Deterministic resources: ports count up, only listed files exist.
struct Fake {
    dir: PathBuf,
    next_tcp: u16,
    next_udp: u16,
    next_server: u16,
    readable: HashSet<PathBuf>,
    down: Vec<String>,
    /// Texts of readable list files (`crt-list`).
    lists: HashMap<PathBuf, String>,
}

impl Fake {
    fn new(readable: &[&str]) -> Fake {
        Fake {
            dir: PathBuf::from("/lab/harun-lab-x"),
            next_tcp: 40000,
            next_udp: 50000,
            next_server: 41000,
            readable: readable.iter().map(PathBuf::from).collect(),
            down: Vec::new(),
            lists: HashMap::new(),
        }
    }
}

impl Resources for Fake {
    fn dir(&self) -> &Path {
        &self.dir
    }
    fn tcp_port(&mut self) -> Result<u16, String> {
        self.next_tcp += 1;
        Ok(self.next_tcp)
    }
    fn udp_port(&mut self) -> Result<u16, String> {
        self.next_udp += 1;
        Ok(self.next_udp)
    }
    fn server(&mut self, backend: &str, server: &str) -> Result<(SocketAddr, String), String> {
        self.next_server += 1;
        let id = format!("{backend}/{server}");
        let how = if self.down.contains(&id) {
            "DOWN: refuses connections"
        } else {
            "healthy"
        };
        Ok((loopback(self.next_server), how.to_string()))
    }
    fn refusing(&mut self) -> Result<SocketAddr, String> {
        Ok(loopback(9))
    }
    fn log_target(&mut self) -> Result<(String, String), String> {
        Ok(("127.0.0.1:49999".into(), "the lab's log sink".into()))
    }
    fn nameserver(&mut self) -> Result<SocketAddr, String> {
        Ok(loopback(49998))
    }
    fn readable(&self, path: &Path) -> bool {
        self.readable.contains(path)
    }
    fn read_list(&self, path: &Path) -> Option<String> {
        self.lists.get(path).cloned()
    }
    fn cwd(&self) -> PathBuf {
        PathBuf::from("/work")
    }
    fn fd_limit(&self) -> Option<u64> {
        Some(20000)
    }
    fn env(&self, name: &str) -> Option<String> {
        (name == "LAB_TEST_RUN").then(|| "/var/run/lb".to_string())
    }
}

fn run_on(name: &str, text: &str, res: &mut Fake) -> Rewritten {
    run_with(name, text, res, Options::default())
}

fn run_with(name: &str, text: &str, res: &mut Fake, options: Options) -> Rewritten {
    let path = PathBuf::from(name);
    let model = parse_config(text, &path);
    rewrite(&model, &[(path, text.to_string())], res, options).expect("rewrites")
}

const KEEP_LUA: Options = Options { keep_lua: true };

fn fixture(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/configs/lab")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn lines(r: &Rewritten) -> Vec<String> {
    r.rewrites.iter().map(ToString::to_string).collect()
}

/// The rewrite lines mentioning `needle`, for a readable failure.
fn has(r: &Rewritten, needle: &str) -> bool {
    lines(r).iter().any(|l| l.contains(needle))
}

/// Live (non-comment) lines of the lab's copy.
fn live(r: &Rewritten) -> Vec<String> {
    r.files[0]
        .text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(str::to_string)
        .collect()
}

const DEBIAN_ERRORS: &[&str] = &[
    "/etc/haproxy/errors/400.http",
    "/etc/haproxy/errors/403.http",
    "/etc/haproxy/errors/408.http",
    "/etc/haproxy/errors/500.http",
    "/etc/haproxy/errors/502.http",
    "/etc/haproxy/errors/503.http",
    "/etc/haproxy/errors/504.http",
];

#[test]
fn debian_default_config() {
    let text = fixture("debian.cfg");
    let mut res = Fake::new(DEBIAN_ERRORS);
    let r = run_on("/etc/haproxy/haproxy.cfg", &text, &mut res);
    let out = &r.files[0].text;
    // Same line numbers: findings and haproxy -c messages name the user's lines.
    assert_eq!(out.lines().count(), text.lines().count());
    assert_eq!(
        r.files[0].path,
        Path::new("/lab/harun-lab-x/cfg/haproxy.cfg")
    );
    let l = lines(&r);
    let expect = [
        "/etc/haproxy/haproxy.cfg:3: global: log /dev/log -> 127.0.0.1:49999 (the lab's log sink)",
        "/etc/haproxy/haproxy.cfg:5: global: removed `chroot /var/lib/haproxy` (the lab runs unprivileged from its own directory)",
        "/etc/haproxy/haproxy.cfg:6: global: stats socket /run/haproxy/admin.sock -> /lab/harun-lab-x/sock/admin.sock (in the lab's directory)",
        "/etc/haproxy/haproxy.cfg:8: global: removed `user haproxy` (the lab's haproxy runs as you)",
        "/etc/haproxy/haproxy.cfg:10: global: removed `daemon` (the lab keeps haproxy in the foreground (-db) so it stops with the run)",
        "/etc/haproxy/haproxy.cfg:39: frontend fe_main: bind *:80 -> 127.0.0.1:40001 (a free loopback port)",
        "/etc/haproxy/haproxy.cfg:47: backend bk_app: server app1 10.0.1.11:8080 -> 127.0.0.1:41001 (harun's responder: healthy)",
    ];
    for e in expect {
        assert!(
            l.contains(&e.to_string()),
            "missing {e:?} in\n{}",
            l.join("\n")
        );
    }
    // The certificate under crt-base is not readable: the lab's stand-in.
    assert!(
        has(&r, "crt www.example.com.pem -> crt /lab/harun-lab-x/standin/harun-lab.pem (crt www.example.com.pem is not readable here"),
        "{}",
        l.join("\n")
    );
    assert_eq!(r.standins.len(), 1);
    assert_eq!(r.standins[0].contents, LAB_CERTIFICATE);
    // The package's error files exist on a Debian host: kept as they are.
    assert!(!has(&r, "errorfile"), "{}", l.join("\n"));
    assert!(out.contains("\terrorfile 503 /etc/haproxy/errors/503.http\n"));
    // Untouched lines stay byte for byte (tabs, alignment).
    assert!(out.contains("\tstats timeout 30s\n"));
    assert!(out.contains("\t# harun lab: chroot /var/lib/haproxy\n"));
    assert!(
        out.contains("\tlog 127.0.0.1:49999\tlocal0\n")
            || out.contains("\tlog 127.0.0.1:49999 local0\n")
    );
    // The config's own admin socket is the lab's: nothing to add.
    assert!(r.additions.is_none());
    assert_eq!(
        r.admin_socket,
        Path::new("/lab/harun-lab-x/sock/admin.sock")
    );
    let ids: Vec<_> = r.servers.iter().map(ServerInfo::id).collect();
    assert_eq!(ids, ["bk_app/app1", "bk_app/app2"]);
    assert_eq!(r.binds.len(), 2);
    assert_eq!(r.binds[1].original, "*:443");
    assert_eq!(r.binds[1].tcp, Some(loopback(40002)));
}

#[test]
fn production_like_config() {
    let text = fixture("prod.cfg");
    let mut res = Fake::new(&[]);
    res.down.push("bk_app/app2".into());
    let r = run_on("/etc/haproxy/haproxy.cfg", &text, &mut res);
    let l = lines(&r);
    let all = l.join("\n");
    let expect = [
        "removed `master-worker` (the lab runs a single process)",
        "global: pidfile /run/haproxy.pid -> /lab/harun-lab-x/haproxy.pid",
        "global: maxconn 200000 -> 8970 (this machine allows 20000 open files",
        "removed `cpu-map auto:1/1-4 0-3`",
        "removed `user haproxy group haproxy` (the lab's sockets belong to you)",
        "global: stats socket ipv4@10.0.0.1:9999 -> ipv4@127.0.0.1:",
        "global: server-state-file /var/lib/haproxy/server-state -> /lab/harun-lab-x/state/server-state",
        "removed `ssl-dh-param-file /etc/haproxy/dhparam.pem` (missing here)",
        "defaults: errorfile 503 /etc/haproxy/errors-custom/503.http -> /lab/harun-lab-x/standin/",
        "resolvers dns: nameserver ns1 10.0.0.53:53 -> 127.0.0.1:49998",
        "peers lbs: peer lb2 10.0.0.2:1024 -> 127.0.0.1:",
        "mailers ops: mailer smtp1 10.0.0.25:25 -> 127.0.0.1:9",
        "frontend fe_https: crt /etc/haproxy/certs/www.pem crt /etc/haproxy/certs/api.pem -> crt /lab/harun-lab-x/standin/harun-lab.pem",
        "frontend fe_https: crt-list /etc/haproxy/crt-list.txt -> crt /lab/harun-lab-x/standin/harun-lab.pem",
        "frontend fe_https: -f /etc/haproxy/lists/blocked.lst -> /lab/harun-lab-x/standin/",
        "frontend fe_https: /etc/haproxy/maps/hosts.map -> /lab/harun-lab-x/standin/",
        "frontend fe_partners: removed `ca-file /etc/haproxy/ca/partners.pem verify required` (its files are not readable here)",
        "backend bk_app: server app2 10.0.1.12:8080 -> 127.0.0.1:41002 (harun's responder: DOWN: refuses connections)",
        "backend bk_app: removed `ssl verify required ca-file /etc/haproxy/ca/internal.pem` (harun's responders speak plain HTTP)",
        "backend bk_api: removed `http-check expect string ready`",
        "backend bk_api: server-template api 1-3 api.service.consul:8080 -> 127.0.0.1:41004",
        "backend bk_static: removed `port 8081` (checks go to the server's own responder)",
        "backend bk_static: removed `addr 10.0.2.121` (checks go to the server's own responder)",
        "listen mysql: removed `option mysql-check user haproxy`",
        "listen stats: bind :8404 -> 127.0.0.1:",
    ];
    for e in expect {
        assert!(all.contains(e), "missing {e:?} in\n{all}");
    }
    // Nothing in the lab's copy reaches production or its files.
    for line in live(&r) {
        assert!(
            !line.contains("10.0."),
            "a production address is left: {line}"
        );
        assert!(
            !line.contains("/etc/haproxy"),
            "a production file is left: {line}"
        );
        assert!(
            !line.contains("/run/") && !line.contains("/var/lib"),
            "{line}"
        );
        assert!(!line.contains("consul"), "{line}");
    }
    assert_eq!(
        r.files[0].text.lines().count(),
        text.lines().count(),
        "line numbers kept"
    );
    // One bind line per original bind line.
    let binds: Vec<_> = r.binds.iter().map(|b| b.original.as_str()).collect();
    assert_eq!(
        binds,
        [
            ":80",
            ":443",
            "ipv6@:::443",
            "10.0.0.1:8443",
            "10.0.0.1:3306",
            ":8404",
            "10.0.0.1:2525"
        ]
    );
    assert_eq!(r.binds[2].section, "frontend fe_https");
    // Template slots each get their own responder, set at start.
    let slots: Vec<_> = r
        .template_addrs
        .iter()
        .map(|(b, s, _)| format!("{b}/{s}"))
        .collect();
    assert_eq!(slots, ["bk_api/api1", "bk_api/api2", "bk_api/api3"]);
    let ports: HashSet<_> = r.template_addrs.iter().map(|(_, _, a)| a.port()).collect();
    assert_eq!(ports.len(), 3);
    // The stand-in error file is a valid response with the right status.
    let e503 = r
        .standins
        .iter()
        .find(|s| s.path.to_string_lossy().ends_with("503.http"))
        .expect("503 stand-in");
    assert!(e503.contents.starts_with("HTTP/1.0 503 "));
    // A map used twice would share one stand-in; the certificate is written once.
    let certs = r
        .standins
        .iter()
        .filter(|s| s.contents == LAB_CERTIFICATE)
        .count();
    assert_eq!(certs, 1);
    assert_eq!(
        r.admin_socket,
        Path::new("/lab/harun-lab-x/sock/admin.sock")
    );
    // The lab's host is no peer of production: the first peer is named local,
    // in a file read before the user's.
    let prelude = r.prelude.as_ref().expect("a prelude");
    assert!(prelude.text.contains("global\n    localpeer lb1\n"));
    assert_eq!(r.config_paths()[0], prelude.path);
    assert!(all.contains("harun-lab-prelude.cfg: global: added `localpeer lb1`"));
    // The server state file exists, empty but for its format version.
    let state = r
        .standins
        .iter()
        .find(|s| s.path == Path::new("/lab/harun-lab-x/state/server-state"))
        .expect("state file");
    assert_eq!(state.contents, "1\n");
    assert!(all.contains("server-template api 1-3 api.service.consul:8080 -> 127.0.0.1:41004 (harun's responders: healthy; each slot gets its own"), "{all}");
    let ids: Vec<_> = r.servers.iter().map(ServerInfo::id).collect();
    assert_eq!(
        ids,
        [
            "bk_app/app1",
            "bk_app/app2",
            "bk_app/app3",
            "bk_api/api1",
            "bk_api/api2",
            "bk_api/api3",
            "bk_static/st1",
            "bk_static/st2",
            "mysql/db1",
            "mysql/db2",
            "legacy_smtp/smtp1",
            "bk_geo/geo1"
        ]
    );
    // default-server inter 1s fall 2 from defaults, check from bk_static's own.
    let st1 = &r.servers[6];
    assert!(st1.checked);
    assert_eq!(st1.time_to_down(), std::time::Duration::from_secs(3));
}

#[test]
fn admin_socket_added_when_the_config_has_none() {
    // An operator-level UNIX socket and an admin TCP socket: no admin UNIX socket.
    let text = "global\n  stats socket /run/h.sock level operator\n  stats socket ipv4@127.0.0.1:9999 level admin\nbackend b\n  server s 10.0.0.1:80\n";
    let mut res = Fake::new(&[]);
    let r = run_on("h.cfg", text, &mut res);
    let add = r.additions.as_ref().expect("an admin socket is added");
    assert_eq!(
        add.path,
        Path::new("/lab/harun-lab-x/cfg/harun-lab-additions.cfg")
    );
    assert!(add.text.contains(
        "global\n    stats socket /lab/harun-lab-x/sock/harun-admin.sock level admin mode 600\n"
    ));
    assert_eq!(
        r.admin_socket,
        Path::new("/lab/harun-lab-x/sock/harun-admin.sock")
    );
    assert!(has(
        &r,
        "harun-lab-additions.cfg: global: added `stats socket"
    ));
    assert_eq!(r.config_paths().len(), 2);
    // A socket file name used twice gets a distinct path.
    let text = "global\n  stats socket /a/admin.sock level admin\n  stats socket /b/admin.sock level admin\n";
    let r = run_on("h.cfg", text, &mut Fake::new(&[]));
    assert!(r.additions.is_none());
    let socks: Vec<_> = r.rewrites.iter().map(|w| w.to.clone()).collect();
    assert_eq!(socks[0], "/lab/harun-lab-x/sock/admin.sock");
    assert_ne!(socks[0], socks[1]);
}

#[test]
fn admin_socket_under_a_condition_does_not_count() {
    let text = "global\n.if defined(PROD)\n  stats socket /run/a.sock level admin\n.endif\n";
    let r = run_on("h.cfg", text, &mut Fake::new(&[]));
    assert!(r.additions.is_some());
}

#[test]
fn programs_lua_devices_and_resolv_conf() {
    let text = "global\n  lua-load /etc/haproxy/cors.lua\n  lua-load /opt/ok.lua\n  51degrees-data-file /x.dat\n  unix-bind prefix /run/haproxy mode 770 user haproxy\n  ulimit-n 500000\nresolvers r\n  parse-resolv-conf\nprogram api\n  command /usr/bin/dataplaneapi\n  no option start-on-reload\nbackend b\n  option ssl-hello-chk\n  tcp-check connect port 443\n  http-check connect port 8443 ssl\n  http-check expect ! rstatus ^5\n  source 10.0.0.9\n  server s 10.0.0.1:80 check agent-check agent-port 5555 agent-addr 10.0.0.1 proto h2 source 10.0.0.8\n";
    let r = run_with("h.cfg", text, &mut Fake::new(&["/opt/ok.lua"]), KEEP_LUA);
    let out = &r.files[0].text;
    let all = lines(&r).join("\n");
    for e in [
        "h.cfg:2: global: removed `lua-load /etc/haproxy/cors.lua` (missing here: the actions, services and fetches it defines will be unknown)",
        "h.cfg:4: global: removed `51degrees-data-file /x.dat`",
        "h.cfg:5: global: removed `unix-bind prefix /run/haproxy user haproxy`",
        "h.cfg:6: global: removed `ulimit-n 500000` (this machine allows 20000 open files",
        "h.cfg:8: resolvers r: parse-resolv-conf -> nameserver harun-lab 127.0.0.1:49998",
        "h.cfg:9: program api: removed `program api` (the lab runs one process without master-worker",
        "h.cfg:13: backend b: removed `option ssl-hello-chk`",
        "h.cfg:14: backend b: removed `tcp-check connect port 443`",
        "h.cfg:15: backend b: removed `http-check connect port 8443 ssl`",
        "h.cfg:17: backend b: removed `source 10.0.0.9`",
        "h.cfg:18: backend b: removed `agent-check agent-addr 10.0.0.1` (no agent answers in the lab)",
        "h.cfg:18: backend b: removed `proto h2` (harun's responders speak HTTP/1.1)",
        "h.cfg:18: backend b: removed `source 10.0.0.8`",
    ] {
        assert!(all.contains(e), "missing {e:?} in\n{all}");
    }
    assert!(out.contains("  lua-load /opt/ok.lua\n"));
    assert!(out.contains("  unix-bind mode 770\n"));
    assert!(out.contains("  nameserver harun-lab 127.0.0.1:49998\n"));
    assert!(
        out.contains("# harun lab: program api\n  # harun lab: command /usr/bin/dataplaneapi\n")
    );
    // A status expectation is met by the responders: kept.
    assert!(out.contains("  http-check expect ! rstatus ^5\n"));
    assert!(out.contains("  server s 127.0.0.1:41001 check agent-port 5555\n"));
}

#[test]
fn servers_linked_to_listeners_of_the_same_config_stay_linked() {
    let text = "frontend fe\n  bind :443\n  default_backend to_inner\nbackend to_inner\n  server inner abns@inner send-proxy-v2\n  server local 127.0.0.1:8080\n  server unixy unix@/run/haproxy/inner.sock\n  server other 10.0.0.1:8080\nfrontend inner\n  bind abns@inner accept-proxy\n  bind 127.0.0.1:8080\n  bind /run/haproxy/inner.sock mode 600 user haproxy\n  default_backend to_inner\n";
    let r = run_on("h.cfg", text, &mut Fake::new(&[]));
    let out = &r.files[0].text;
    assert!(
        out.contains("  server inner abns@harun-lab-x-inner send-proxy-v2\n"),
        "{out}"
    );
    assert!(
        out.contains("  bind abns@harun-lab-x-inner accept-proxy\n"),
        "{out}"
    );
    assert!(out.contains("  server local 127.0.0.1:40002\n"), "{out}");
    assert!(out.contains("  bind 127.0.0.1:40002\n"), "{out}");
    assert!(
        out.contains("  server unixy /lab/harun-lab-x/sock/inner.sock\n"),
        "{out}"
    );
    assert!(
        out.contains("  bind /lab/harun-lab-x/sock/inner.sock mode 600\n"),
        "{out}"
    );
    assert!(out.contains("  server other 127.0.0.1:41001\n"), "{out}");
    assert_eq!(
        r.internal,
        ["to_inner/inner", "to_inner/local", "to_inner/unixy"]
    );
    assert!(has(&r, "server inner abns@inner -> abns@harun-lab-x-inner (still linked to frontend inner of this configuration)"));
}

#[test]
fn bind_forms_and_tls_options() {
    let text = "global\n  crt-base /etc/ssl/private\n  ca-base /etc/ssl/certs\nfrontend fe\n  bind :80,:8080 interface eth0 transparent\n  bind quic4@:443 ssl crt site.pem alpn h3\n  bind :8443 ssl crt ok.pem ca-file clients.pem verify optional strict-sni crl-file /x/crl.pem\n  bind :9443 ssl crt missing.pem strict-sni ca-sign-file /ca.pem ca-sign-pass x generate-certificates\nlog-forward lf\n  dgram-bind 10.0.0.1:514\n  bind 10.0.0.1:514\n  log 10.0.0.9:514 local0\n";
    let r = run_on(
        "h.cfg",
        text,
        &mut Fake::new(&["/etc/ssl/private/ok.pem", "/etc/ssl/private/site.pem"]),
    );
    let out = &r.files[0].text;
    let all = lines(&r).join("\n");
    assert!(out.contains("  bind 127.0.0.1:40001\n"), "{out}");
    assert!(all.contains(
        "bind :80,:8080 -> 127.0.0.1:40001 (one free loopback port for the 2 addresses)"
    ));
    assert!(all.contains("removed `interface eth0 transparent`"));
    assert!(
        out.contains("  bind 127.0.0.1:40002 ssl crt site.pem\n"),
        "{out}"
    );
    assert!(all.contains("bind quic4@:443: QUIC served over TCP"));
    // ok.pem is readable (under crt-base) and kept; the CA file is not: verify goes with it.
    assert!(
        out.contains("  bind 127.0.0.1:40003 ssl crt ok.pem strict-sni\n"),
        "{out}"
    );
    assert!(
        all.contains("removed `ca-file clients.pem crl-file /x/crl.pem verify optional`"),
        "{all}"
    );
    assert!(
        out.contains("  bind 127.0.0.1:40004 ssl crt /lab/harun-lab-x/standin/harun-lab.pem\n"),
        "{out}"
    );
    assert!(
        all.contains("removed `strict-sni` (they need the real certificate)"),
        "{all}"
    );
    assert!(
        all.contains("removed `ca-sign-file /ca.pem ca-sign-pass x generate-certificates`"),
        "{all}"
    );
    assert!(out.contains("  dgram-bind 127.0.0.1:50001\n"), "{out}");
    assert!(out.contains("  bind 127.0.0.1:40005\n"), "{out}");
    assert!(out.contains("  log 127.0.0.1:49999 local0\n"), "{out}");
}

#[test]
fn default_path_makes_kept_relative_paths_absolute() {
    let text = "global\n  default-path config\n  lua-load lua/a.lua\nfrontend fe\n  bind :80\n  http-request return status 200 file pages/ok.txt\n  use_backend %[path,map_beg(maps/p.map,b)]\n  acl x src -f lists/x.lst\n  errorfile 503 err/503.http\n";
    let r = run_with(
        "/etc/haproxy/haproxy.cfg",
        text,
        &mut Fake::new(&[
            "/etc/haproxy/lua/a.lua",
            "/etc/haproxy/maps/p.map",
            "/etc/haproxy/lists/x.lst",
            "/etc/haproxy/pages/ok.txt",
        ]),
        KEEP_LUA,
    );
    let out = &r.files[0].text;
    assert!(
        out.contains("  # harun lab: default-path config\n"),
        "{out}"
    );
    assert!(out.contains("  lua-load /etc/haproxy/lua/a.lua\n"), "{out}");
    assert!(out.contains("file /etc/haproxy/pages/ok.txt\n"), "{out}");
    assert!(out.contains("map_beg(/etc/haproxy/maps/p.map,b)"), "{out}");
    assert!(out.contains("-f /etc/haproxy/lists/x.lst\n"), "{out}");
    // Not there: a stand-in 503 response.
    assert!(
        out.contains("  errorfile 503 /lab/harun-lab-x/standin/1-503.http\n"),
        "{out}"
    );
}

#[test]
fn http_action_files_get_stand_ins_with_their_status() {
    let text = "frontend fe\n  bind :80\n  http-request deny errorfile /e/denied.http if { path /x }\n  http-request return status 404 content-type text/html lf-file /p/404.html\n  http-error status 429 errorfile /e/429.http\n";
    let r = run_on("h.cfg", text, &mut Fake::new(&[]));
    let s = |name: &str| {
        r.standins
            .iter()
            .find(|s| s.path.to_string_lossy().ends_with(name))
            .unwrap_or_else(|| panic!("no stand-in {name}: {:?}", r.standins))
            .contents
            .clone()
    };
    assert!(s("denied.http").starts_with("HTTP/1.0 403 Forbidden\r\n"));
    assert!(s("429.http").starts_with("HTTP/1.0 429 "));
    assert_eq!(s("404.html"), "harun lab stand-in for /p/404.html\n");
}

#[test]
fn what_cannot_be_rewritten_names_file_and_line() {
    let e = rewrite(
        &parse_config("maxconn 10\nglobal\n", Path::new("x.cfg")),
        &[(PathBuf::from("x.cfg"), "maxconn 10\nglobal\n".into())],
        &mut Fake::new(&[]),
        Options::default(),
    )
    .unwrap_err();
    assert_eq!(e.location.as_deref(), Some("x.cfg:1"));
    assert!(
        e.to_string().contains("`maxconn` is outside any section"),
        "{e}"
    );
    let text = "global\n  log \"/dev/log local0\n";
    let e = rewrite(
        &parse_config(text, Path::new("y.cfg")),
        &[(PathBuf::from("y.cfg"), text.into())],
        &mut Fake::new(&[]),
        Options::default(),
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "y.cfg:2: unterminated \" quote");
    let text = "backend b\n  server-template s 0 10.0.0.1:80\n";
    let e = rewrite(
        &parse_config(text, Path::new("z.cfg")),
        &[(PathBuf::from("z.cfg"), text.into())],
        &mut Fake::new(&[]),
        Options::default(),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "z.cfg:2: server-template s: invalid range `0`"
    );
}

#[test]
fn several_files_keep_their_names_and_order() {
    let a = (
        PathBuf::from("/c/a/haproxy.cfg"),
        "global\n  log /dev/log local0\n".to_string(),
    );
    let b = (
        PathBuf::from("/c/b/haproxy.cfg"),
        "backend b\n  server s 10.0.0.1:80\n".to_string(),
    );
    let mut model = parse_config(&a.1, &a.0);
    let mb = parse_config(&b.1, &b.0);
    model.files.extend(mb.files);
    model.sections.extend(mb.sections);
    let r = rewrite(&model, &[a, b], &mut Fake::new(&[]), Options::default()).unwrap();
    let paths: Vec<_> = r.config_paths();
    assert_eq!(
        paths,
        [
            PathBuf::from("/lab/harun-lab-x/cfg/haproxy.cfg"),
            PathBuf::from("/lab/harun-lab-x/cfg/1-haproxy.cfg"),
            PathBuf::from("/lab/harun-lab-x/cfg/harun-lab-additions.cfg"),
        ]
    );
    assert_eq!(
        r.copy()
            .original_of(Path::new("/lab/harun-lab-x/cfg/1-haproxy.cfg")),
        Some(Path::new("/c/b/haproxy.cfg"))
    );
    assert!(r.files[1].text.contains("server s 127.0.0.1:41001"));
}

#[test]
fn template_slots_start_on_a_healthy_responder() {
    let text = "backend b\n  server-template s 3 svc:80 check\n";
    let mut res = Fake::new(&[]);
    res.down.push("b/s1".into());
    let r = run_on("h.cfg", text, &mut res);
    // s1 refuses: the line uses s2's responder until each slot gets its own.
    assert!(r.files[0]
        .text
        .contains("server-template s 3 127.0.0.1:41002 check"));
    assert!(has(
        &r,
        "(harun's responders: s1 DOWN: refuses connections, the others healthy;"
    ));
    assert_eq!(r.template_addrs[0].2, loopback(41001));
}

/// The words of a live line that name another host: an IP address (with or
/// without a port, behind any `proto@` prefix) that is not loopback, or a
/// `host:port` whose host is a name other than localhost.
fn remote_addresses(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    for word in line.split(|c: char| c.is_whitespace() || c == ',') {
        let bare = word.split_once('@').map_or(word, |(p, rest)| {
            if p.chars().all(|c| c.is_ascii_alphanumeric()) {
                rest
            } else {
                word
            }
        });
        let ip = bare
            .parse::<SocketAddr>()
            .map(|a| a.ip())
            .or_else(|_| bare.parse::<std::net::IpAddr>());
        let remote = match ip {
            Ok(ip) => !ip.is_loopback(),
            Err(_) => bare.rsplit_once(':').is_some_and(|(h, p)| {
                p.parse::<u16>().is_ok()
                    && !h.is_empty()
                    && h != "localhost"
                    && h.chars()
                        .all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c))
                    && h.contains(|c: char| c.is_ascii_alphabetic())
            }),
        };
        if remote {
            out.push(word.to_string());
        }
    }
    out
}

#[test]
fn remote_addresses_are_found_in_any_form() {
    let found = remote_addresses(
        "server s 10.0.0.1:80 addr 10.0.0.2 log ipv4@192.0.2.1:514 peer [2001:db8::1]:1024 svc.consul:8080 x:y",
    );
    assert_eq!(
        found,
        [
            "10.0.0.1:80",
            "10.0.0.2",
            "ipv4@192.0.2.1:514",
            "[2001:db8::1]:1024",
            "svc.consul:8080"
        ]
    );
    assert!(remote_addresses(
        "bind 127.0.0.1:80,ipv6@[::1]:443 stats socket ipv4@127.0.0.1:9 localhost:80 cpu-map auto:1/1-4 mailer m haproxy@example.com"
    )
    .is_empty());
}

/// Nothing the lab runs from the production fixture can reach another host,
/// even with every file it names readable here: no remote address and no
/// program of production's (Lua, external checks, SPOE agents, programs) is
/// left on a live line of any file haproxy reads.
#[test]
fn nothing_on_a_live_line_reaches_beyond_loopback() {
    let text = fixture("prod.cfg");
    let mut res = Fake::new(&[
        "/etc/haproxy/lua/tokens.lua",
        "/etc/haproxy/spoe-waf.conf",
        "/etc/haproxy/certs/www.pem",
        "/etc/haproxy/ca/internal.pem",
        "/etc/haproxy/maps/hosts.map",
    ]);
    let r = run_on("/etc/haproxy/haproxy.cfg", &text, &mut res);
    let files: Vec<&RewrittenFile> = r
        .prelude
        .iter()
        .chain(&r.files)
        .chain(r.additions.iter())
        .collect();
    assert_eq!(files.len(), 3, "prelude, the copy, additions");
    let programs = [
        "lua-load",
        "lua-load-per-thread",
        "external-check",
        "program",
        "command",
        "filter spoe",
        "option external-check",
        "option transparent",
    ];
    for f in files {
        for line in f.text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let remote = remote_addresses(line);
            assert!(remote.is_empty(), "{remote:?} left in `{line}`");
            assert!(
                !programs
                    .iter()
                    .any(|p| line == *p || line.starts_with(&format!("{p} "))),
                "a program of production's is left: `{line}`"
            );
            assert!(!line.contains("send-spoe-group"), "{line}");
        }
    }
    let l = lines(&r);
    let all = l.join("\n");
    for e in [
        "haproxy.cfg:113: global: removed `lua-load /etc/haproxy/lua/tokens.lua` (production's Lua can connect anywhere",
        "haproxy.cfg:114: global: removed `external-check` (no external check runs in the lab)",
        "haproxy.cfg:121: listen legacy_smtp: log 10.0.0.5:514 -> 127.0.0.1:49999",
        "haproxy.cfg:122: listen legacy_smtp: removed `option transparent`",
        "haproxy.cfg:128: backend bk_geo: removed `filter spoe engine waf config /etc/haproxy/spoe-waf.conf`",
        "haproxy.cfg:129: backend bk_geo: removed `http-request send-spoe-group waf check-request`",
        "harun-lab-additions.cfg: resolvers default: added `nameserver harun-lab 127.0.0.1:49998` (/etc/haproxy/haproxy.cfg:131 resolves through HAProxy's `default` resolvers",
    ] {
        assert!(all.contains(e), "missing {e:?} in\n{all}");
    }
    // One line says why Lua is gone.
    assert_eq!(l.iter().filter(|w| w.contains("Lua")).count(), 1, "{all}");
    // The copy resolves `default` with the lab's stand-in, not /etc/resolv.conf.
    let added = &r.additions.as_ref().unwrap().text;
    assert!(
        added.contains("resolvers default\n    nameserver harun-lab 127.0.0.1:49998\n"),
        "{added}"
    );
}

#[test]
fn lua_runs_only_when_asked_for() {
    let text = "global\n  lua-load /opt/ok.lua\n  lua-load-per-thread /opt/t.lua\n";
    let readable = ["/opt/ok.lua", "/opt/t.lua"];
    let r = run_on("h.cfg", text, &mut Fake::new(&readable));
    assert_eq!(
        lines(&r),
        [
            format!("h.cfg:2: global: removed `lua-load /opt/ok.lua` ({LUA_DROPPED})"),
            format!("h.cfg:3: global: removed `lua-load-per-thread /opt/t.lua` ({LUA_DROPPED})"),
            "harun-lab-additions.cfg: global: added `stats socket /lab/harun-lab-x/sock/harun-admin.sock level admin mode 600` (the configuration has no admin-level UNIX stats socket: harun needs one)".to_string(),
        ]
    );
    assert_eq!(live(&r), ["global"]);
    let r = run_with("h.cfg", text, &mut Fake::new(&readable), KEEP_LUA);
    assert_eq!(
        live(&r),
        [
            "global",
            "  lua-load /opt/ok.lua",
            "  lua-load-per-thread /opt/t.lua"
        ]
    );
    // Kept Lua has the httpclient, which resolves through `default`.
    assert!(r
        .additions
        .unwrap()
        .text
        .contains("resolvers default\n    nameserver harun-lab 127.0.0.1:49998\n"));
}

#[test]
fn default_resolvers_are_the_stand_in_only_when_used() {
    let plain = "backend b\n  server s 10.0.0.1:80\n";
    let r = run_on("h.cfg", plain, &mut Fake::new(&[]));
    assert!(!r.additions.unwrap().text.contains("resolvers"));
    for used in [
        "backend b\n  server s svc:80 resolvers default\n",
        "frontend f\n  bind :80\n  http-request do-resolve(txn.ip,default,ipv4) hdr(host)\n",
        "global\n  httpclient.resolvers.id default\n",
    ] {
        let r = run_on("h.cfg", used, &mut Fake::new(&[]));
        assert!(
            r.additions.unwrap().text.contains("resolvers default\n"),
            "{used}"
        );
    }
    // The configuration's own `default` section is rewritten like any other.
    let own = "resolvers default\n  nameserver ns 10.0.0.53:53\nbackend b\n  server s svc:80 resolvers default\n";
    let r = run_on("h.cfg", own, &mut Fake::new(&[]));
    assert!(!r.additions.unwrap().text.contains("resolvers"));
}

/// Real-world configurations (tests/fixtures/configs/lab/real, each naming
/// its public source): every one is rewritten, every server of the
/// configuration is in the lab, and nothing on a live line names another
/// host. A directory of files (`confd/`) is read in name order, as
/// `haproxy -f DIR` does.
#[test]
fn real_world_configurations_are_rewritten_to_loopback() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/configs/lab/real");
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    assert!(entries.len() >= 15, "{entries:?}");
    for entry in entries {
        let files: Vec<PathBuf> = if entry.is_dir() {
            let mut f: Vec<PathBuf> = std::fs::read_dir(&entry)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            f.sort();
            f
        } else {
            vec![entry.clone()]
        };
        let sources: Vec<(PathBuf, String)> = files
            .iter()
            .map(|f| (f.clone(), std::fs::read_to_string(f).unwrap()))
            .collect();
        let mut model = parse_config(&sources[0].1, &sources[0].0);
        for (path, text) in &sources[1..] {
            let m = parse_config(text, path);
            model.files.extend(m.files);
            model.sections.extend(m.sections);
        }
        let name = entry.display();
        let r = rewrite(&model, &sources, &mut Fake::new(&[]), Options::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let declared = model
            .sections
            .iter()
            .filter(|s| matches!(s.kind.as_str(), "backend" | "listen"))
            .flat_map(|s| &s.directives)
            .filter(|d| d.keyword == "server" && !d.args.is_empty())
            .count();
        let plain = r.servers.iter().filter(|s| !s.template).count();
        assert_eq!(plain, declared, "{name}: servers of the lab");
        for f in r.prelude.iter().chain(&r.files).chain(r.additions.iter()) {
            for line in f.text.lines().map(str::trim) {
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                // A server's name may be an address (`server 10.0.0.1 ...`).
                let words: Vec<&str> = line.split_whitespace().collect();
                let checked = match words.as_slice() {
                    ["server", _name, rest @ ..] => rest.join(" "),
                    _ => line.to_string(),
                };
                let remote = remote_addresses(&checked);
                assert!(remote.is_empty(), "{name}: {remote:?} left in `{line}`");
            }
        }
        for w in &r.rewrites {
            assert!(!w.location.contains("harun-lab-x"), "{name}: {w}");
        }
    }
}

/// PHP-FPM behind `use-fcgi-app`: the responder speaks HTTP, so the
/// FastCGI application is not used (HAProxy refuses one without a
/// `proto fcgi` server) and the server keeps its place.
#[test]
fn fastcgi_backends_reach_their_responder_over_http() {
    let text = fixture("real/fcgi-php.cfg");
    let r = run_on("/etc/haproxy/haproxy.cfg", &text, &mut Fake::new(&[]));
    let all = lines(&r).join("\n");
    for e in [
        "haproxy.cfg:21: backend the_backend: removed `use-fcgi-app the_fcgi_app` (harun's responders speak HTTP, not FastCGI",
        "haproxy.cfg:22: backend the_backend: server the_server /run/php/php8.4-fpm.sock -> 127.0.0.1:41001",
        "haproxy.cfg:22: backend the_backend: removed `proto fcgi`",
    ] {
        assert!(all.contains(e), "missing {e:?} in\n{all}");
    }
    let live = live(&r);
    assert!(!live.iter().any(|l| l.contains("use-fcgi-app")), "{live:?}");
    assert!(
        live.iter()
            .any(|l| l.trim() == "server the_server 127.0.0.1:41001"),
        "{live:?}"
    );
}

/// `"${RUN_DIR}/admin.sock"` is a UNIX socket once haproxy substitutes the
/// variable (from the environment, `setenv`, or the `-default`): it moves
/// to the lab's directory and stays the admin socket, instead of becoming
/// a TCP one. A server on `127.0.0.1:${PORT}` stays linked to its listener.
#[test]
fn addresses_with_environment_variables_are_read_as_haproxy_expands_them() {
    let text = "global
  setenv FE_PORT 8080
  stats socket \"${LAB_TEST_RUN}/admin.sock\" mode 600 level admin
  stats socket \"${LAB_TEST_UNSET-/run/haproxy}/ops.sock\" level operator
frontend fe
  bind :\"${FE_PORT}\"
backend loop
  server self 127.0.0.1:8080
  server sock \"unix@${LAB_TEST_UNSET}/x.sock\"
";
    let r = run_on("/etc/haproxy/haproxy.cfg", text, &mut Fake::new(&[]));
    let all = lines(&r).join("\n");
    for e in [
        "haproxy.cfg:3: global: stats socket ${LAB_TEST_RUN}/admin.sock -> /lab/harun-lab-x/sock/admin.sock (in the lab's directory)",
        "haproxy.cfg:4: global: stats socket ${LAB_TEST_UNSET-/run/haproxy}/ops.sock -> /lab/harun-lab-x/sock/ops.sock (in the lab's directory)",
        "haproxy.cfg:8: backend loop: server self 127.0.0.1:8080 -> 127.0.0.1:40001 (still linked to frontend fe",
    ] {
        assert!(all.contains(e), "missing {e:?} in\n{all}");
    }
    assert_eq!(
        r.admin_socket,
        PathBuf::from("/lab/harun-lab-x/sock/admin.sock")
    );
    assert!(r.additions.is_none(), "no admin socket added: {all}");
    assert_eq!(
        expand_env("${A}/${B-d}/${C}", |n| (n == "A").then(|| "a".into())),
        "a/d/"
    );
    assert_eq!(expand_env("${A", |_| None), "${A");
}

/// A crt-list in /etc/haproxy is readable, the keys it names in
/// /etc/ssl/private (root only) are not: HAProxy refused the lab's copy.
/// The list is replaced by the lab's certificate, saying which one was
/// missing; a list whose certificates are all readable is kept.
#[test]
fn crt_lists_naming_unreadable_certificates_get_the_lab_certificate() {
    let text = "global
  crt-base /etc/ssl/private
frontend fe
  bind :443 ssl crt-list /etc/haproxy/crt-list.txt strict-sni
frontend fe2
  bind :8443 ssl crt-list /etc/haproxy/ok-list.txt
";
    let mut res = Fake::new(&[
        "/etc/haproxy/crt-list.txt",
        "/etc/haproxy/ok-list.txt",
        "/etc/ssl/private/www.pem",
    ]);
    res.lists.insert(
        "/etc/haproxy/crt-list.txt".into(),
        "# sites\n\n/etc/ssl/private/www.pem [alpn h2]\napi.pem api.example.com\n".into(),
    );
    res.lists.insert(
        "/etc/haproxy/ok-list.txt".into(),
        "www.pem [alpn h2] www.example.com\n".into(),
    );
    let r = run_on("/etc/haproxy/haproxy.cfg", text, &mut res);
    let all = lines(&r).join("\n");
    let e = "haproxy.cfg:4: frontend fe: crt-list /etc/haproxy/crt-list.txt -> crt /lab/harun-lab-x/standin/harun-lab.pem (crt-list /etc/haproxy/crt-list.txt (its certificate api.pem) is not readable here";
    assert!(all.contains(e), "missing {e:?} in\n{all}");
    assert!(
        has(&r, "haproxy.cfg:4: frontend fe: removed `strict-sni`"),
        "{all}"
    );
    assert!(!has(&r, "haproxy.cfg:6: frontend fe2: crt"), "{all}");
    let live = live(&r);
    assert!(
        live.iter()
            .any(|l| l.trim() == "bind 127.0.0.1:40002 ssl crt-list /etc/haproxy/ok-list.txt"),
        "{live:?}"
    );
}

/// `presetenv` after a `setenv` of the same name does nothing (the name is
/// set), as haproxy reads the global section: line by line.
#[test]
fn setenv_and_presetenv_apply_in_the_order_haproxy_reads_them() {
    let text = "global
  setenv LAB_TEST_ORDER_ADMIN /run/haproxy/admin.sock
  presetenv LAB_TEST_ORDER_ADMIN 127.0.0.1:9999
  stats socket \"${LAB_TEST_ORDER_ADMIN}\" mode 600 level admin
frontend fe
  bind :8080
";
    let r = run_on("/etc/haproxy/haproxy.cfg", text, &mut Fake::new(&[]));
    assert_eq!(
        r.admin_socket,
        PathBuf::from("/lab/harun-lab-x/sock/admin.sock"),
        "{}",
        lines(&r).join("\n")
    );
}
