//! The inventory module's tests. Every fixture here was written for these tests.

use super::*;
use proptest::prelude::*;

fn parse(name: &str, text: &str) -> Result<Inventory, Vec<Diagnostic>> {
    Inventory::parse(SourceFile::new(PathBuf::from(name), text.to_string()))
}

fn ini(text: &str) -> Inventory {
    match parse("hosts", text) {
        Ok(inv) => inv,
        Err(e) => panic!("{}", e.iter().map(|d| d.render(false)).collect::<String>()),
    }
}

fn yaml(text: &str) -> Inventory {
    match parse("hosts.yml", text) {
        Ok(inv) => inv,
        Err(e) => panic!("{}", e.iter().map(|d| d.render(false)).collect::<String>()),
    }
}

/// (line, column, message) of each error.
fn errors(name: &str, text: &str) -> Vec<(usize, usize, String)> {
    match parse(name, text) {
        Ok(_) => panic!("no error for {text:?}"),
        Err(e) => e
            .iter()
            .map(|d| {
                let (_, l, c) = d.position().expect("located");
                assert!(d.hint.is_some(), "no hint: {}", d.message);
                (l, c, d.message.clone())
            })
            .collect(),
    }
}

fn names(hosts: &[&Host]) -> Vec<String> {
    hosts.iter().map(|h| h.name.clone()).collect()
}

fn var(h: &Host, key: &str) -> Value {
    h.vars.get_attr(key).unwrap()
}

/// A map's entries, printed, in their order (to compare two inventories' variables).
fn entries(v: &Value) -> Vec<(String, String)> {
    map_pairs(v)
        .into_iter()
        .map(|(k, v)| (k.to_string(), format!("{v:?}")))
        .collect()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

const FLEET_INI: &str = r#"# a small fleet
bastion.example.net ansible_user=jump

[web]
www[01:03].example.com http_port=8080 tls=True
web-[a:b].example.com:2222

; the databases
[db]
db1.example.com ansible_host=10.0.0.5 ansible_port=5432 role='primary'
db2.example.com role="replica" weight=0.5   # the slow one

[web:vars]
tier=frontend
owner="web team"

[prod:children]
web
db

[prod:vars]
tier=production
env=prod

[all:vars]
env=unknown
ansible_user=deploy
"#;

const FLEET_YAML: &str = r#"# the same fleet
all:
  hosts:
    bastion.example.net:
      ansible_user: jump
  vars:
    env: unknown
    ansible_user: deploy
  children:
    prod:
      vars:
        tier: production
        env: prod
      children:
        web:
          hosts:
            www[01:03].example.com:
              http_port: 8080
              tls: true
            web-[a:b].example.com:2222:
          vars:
            tier: frontend
            owner: web team
        db:
          hosts:
            db1.example.com: {ansible_host: 10.0.0.5, ansible_port: 5432, role: primary}
            db2.example.com:
              role: replica
              weight: 0.5
"#;

const FLEET_HOSTS: [&str; 8] = [
    "bastion.example.net",
    "www01.example.com",
    "www02.example.com",
    "www03.example.com",
    "web-a.example.com",
    "web-b.example.com",
    "db1.example.com",
    "db2.example.com",
];

// ---------------------------------------------------------------------------------------
// shlex

#[test]
fn shlex_splits_as_python_does() {
    let cases: &[(&str, &[&str])] = &[
        ("", &[]),
        ("  \t\n ", &[]),
        ("a b  c", &["a", "b", "c"]),
        (r#""a b" 'c d'"#, &["a b", "c d"]),
        (r#"a"b c"d"#, &["ab cd"]),
        ("''", &[""]),
        (r#"x '' y"#, &["x", "", "y"]),
        (r"a\ b", &["a b"]),
        (r#""a\"b""#, &[r#"a"b"#]),
        (r#""a\nb""#, &[r"a\nb"]),
        (r#""a\\b""#, &[r"a\b"]),
        (r"'a\b'", &[r"a\b"]),
        (r"\\", &[r"\"]),
        (r"\'", &["'"]),
        ("a#b # c", &["a#b", "#", "c"]),
        (
            r#"-o "ProxyCommand=ssh -W %h:%p bastion" -o 'ServerAliveInterval=30'"#,
            &[
                "-o",
                "ProxyCommand=ssh -W %h:%p bastion",
                "-o",
                "ServerAliveInterval=30",
            ],
        ),
        ("é 'ü x'", &["é", "ü x"]),
    ];
    for (input, want) in cases {
        assert_eq!(shlex_split(input).unwrap(), strings(want), "{input:?}");
    }
}

#[test]
fn shlex_errors_are_pythons() {
    assert_eq!(
        shlex_split(r#"a "b c"#).unwrap_err(),
        "No closing quotation"
    );
    assert_eq!(shlex_split("a 'b").unwrap_err(), "No closing quotation");
    assert_eq!(shlex_split(r"a\").unwrap_err(), "No escaped character");
    assert_eq!(shlex_split(r#""a\"#).unwrap_err(), "No escaped character");
}

#[test]
fn shlex_comments_mode_as_ansible_host_lines() {
    let words = |s: &str| -> Vec<String> {
        split_words(s, true)
            .unwrap()
            .into_iter()
            .map(|(w, _)| w)
            .collect()
    };
    assert_eq!(words("a b # c d"), strings(&["a", "b"]));
    assert_eq!(words("a b#c d"), strings(&["a", "b"]));
    assert_eq!(words("# all comment"), Vec::<String>::new());
    assert_eq!(words(r##"x="#1" y='a#b'"##), strings(&["x=#1", "y=a#b"]));
    let offsets: Vec<usize> = split_words("ab  'c d' e", true)
        .unwrap()
        .into_iter()
        .map(|(_, at)| at)
        .collect();
    assert_eq!(offsets, [0, 4, 10]);
    assert_eq!(
        split_words("a 'b", true).unwrap_err(),
        ("No closing quotation".to_string(), 2)
    );
}

/// Python's `shlex.quote`: every word in single quotes.
fn quote(w: &str) -> String {
    format!("'{}'", w.replace('\'', r#"'"'"'"#))
}

proptest! {
    #[test]
    fn shlex_split_undoes_single_quoting(words in proptest::collection::vec(any::<String>(), 0..8)) {
        let line = words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ");
        prop_assert_eq!(shlex_split(&line).unwrap(), words);
    }

    #[test]
    fn shlex_split_never_panics(s in any::<String>()) {
        let _ = shlex_split(&s);
        let _ = split_words(&s, true);
    }

    #[test]
    fn parsing_never_panics(s in "[\\[\\]a-z0-9:=#;'\" \n\t._-]{0,80}") {
        let _ = parse("hosts", &s);
        let _ = parse("hosts.yml", &s);
        let _ = python_literal(&s);
        let _ = parse_destination(&s);
    }
}

// ---------------------------------------------------------------------------------------
// Python literals

#[test]
fn host_line_values_are_python_literals() {
    let lit = |s: &str| python_literal(s);
    assert_eq!(lit("22"), Some(Value::from(22)));
    assert_eq!(lit("-5"), Some(Value::from(-5)));
    assert_eq!(lit("+5"), Some(Value::from(5)));
    assert_eq!(lit("0"), Some(Value::from(0)));
    assert_eq!(lit("000"), Some(Value::from(0)));
    assert_eq!(lit("0x1F"), Some(Value::from(31)));
    assert_eq!(lit("0o17"), Some(Value::from(15)));
    assert_eq!(lit("0b101"), Some(Value::from(5)));
    assert_eq!(lit("1_000"), Some(Value::from(1000)));
    assert_eq!(lit("1.5"), Some(Value::from(1.5)));
    assert_eq!(lit("1e3"), Some(Value::from(1000.0)));
    assert_eq!(lit(".5"), Some(Value::from(0.5)));
    assert_eq!(lit("5."), Some(Value::from(5.0)));
    assert_eq!(lit("True"), Some(Value::from(true)));
    assert_eq!(lit("False"), Some(Value::from(false)));
    assert!(lit("None").unwrap().is_none());
    assert_eq!(lit("'a b'"), Some(Value::from("a b")));
    assert_eq!(lit(r#""x""#), Some(Value::from("x")));
    assert_eq!(lit("'a' \"b\""), Some(Value::from("ab")));
    assert_eq!(lit(r"'\x41\n'"), Some(Value::from("A\n")));
    assert_eq!(lit(r"r'\n'"), Some(Value::from(r"\n")));
    assert_eq!(lit(r"'\d'"), Some(Value::from(r"\d")));
    assert_eq!(lit("u'é'"), Some(Value::from("é")));
    assert_eq!(lit("b'ok'"), Some(Value::from("ok")));
    assert_eq!(lit("'''a'b'''"), Some(Value::from("a'b")));
    assert_eq!(lit("5 # five"), Some(Value::from(5)));
    assert_eq!(
        lit("[1, 'a', None]"),
        Some(Value::from(vec![
            Value::from(1),
            Value::from("a"),
            Value::from(())
        ]))
    );
    assert_eq!(
        lit("(1, 2)"),
        Some(Value::from(vec![Value::from(1), Value::from(2)]))
    );
    assert_eq!(
        lit("80,443"),
        Some(Value::from(vec![Value::from(80), Value::from(443)]))
    );
    assert_eq!(lit("(7)"), Some(Value::from(7)));
    let d = lit("{'a': 1, 'b': [True]}").unwrap();
    assert_eq!(d.get_attr("a").unwrap(), Value::from(1));
    assert_eq!(
        d.get_attr("b").unwrap(),
        Value::from(vec![Value::from(true)])
    );
    // not literals: Ansible keeps the text
    for s in [
        "",
        "true",
        "yes",
        "none",
        "a b",
        "007",
        "1j",
        "1abc",
        "1_",
        "1.2.3",
        "f'x'",
        "'open",
        "--5",
        "10.0.0.5",
        "[1,",
        "{'a' 1}",
        "x=1",
        "'\\N{DASH}'",
    ] {
        assert_eq!(lit(s), None, "{s:?}");
    }
}

// ---------------------------------------------------------------------------------------
// Host names: ranges and ports

fn expand(p: &str) -> (Vec<String>, Option<u16>) {
    match expand_host_pattern(p) {
        Ok(x) => x,
        Err(e) => panic!("{p}: {}", e.msg),
    }
}

fn expand_err(p: &str) -> String {
    match expand_host_pattern(p) {
        Ok(x) => panic!("{p} expanded to {x:?}"),
        Err(e) => e.msg,
    }
}

#[test]
fn ranges_expand_with_padding_letters_and_stride() {
    assert_eq!(
        expand("www[01:03].example.com").0,
        strings(&[
            "www01.example.com",
            "www02.example.com",
            "www03.example.com"
        ])
    );
    assert_eq!(expand("n[8:11]").0, strings(&["n8", "n9", "n10", "n11"]));
    assert_eq!(expand("n[001:003]").0, strings(&["n001", "n002", "n003"]));
    assert_eq!(expand("n[:2]").0, strings(&["n0", "n1", "n2"]));
    assert_eq!(
        expand("db-[a:c].x").0,
        strings(&["db-a.x", "db-b.x", "db-c.x"])
    );
    assert_eq!(
        expand("h[1:10:2]").0,
        strings(&["h1", "h3", "h5", "h7", "h9"])
    );
    assert_eq!(expand("h[a:e:2]").0, strings(&["ha", "hc", "he"]));
    assert_eq!(expand("h[y:B]").0, strings(&["hy", "hz", "hA", "hB"]));
    assert_eq!(expand("h[01:10:4]").0, strings(&["h01", "h05", "h09"]));
    // several ranges: a product, the first range outermost
    assert_eq!(
        expand("r[1:2]-[a:b].dc").0,
        strings(&["r1-a.dc", "r1-b.dc", "r2-a.dc", "r2-b.dc"])
    );
    assert_eq!(
        expand("plain.example.com").0,
        strings(&["plain.example.com"])
    );
}

#[test]
fn ranges_that_are_wrong_are_refused() {
    assert!(expand_err("n[05:01]").contains("counts down"));
    assert!(expand_err("n[c:a]").contains("counts down"));
    assert!(expand_err("n[01:100]").contains("same number of digits"));
    assert!(expand_err("n[1:]").contains("no end"));
    assert!(expand_err("n[1]").contains("begin:end"));
    assert!(expand_err("n[1:2:3:4]").contains("begin:end"));
    assert!(expand_err("n[a:5]").contains("two numbers or two letters"));
    assert!(expand_err("n[1:5:0]").contains("step"));
    assert!(expand_err("n[1:5:x]").contains("step"));
    assert!(expand_err("n[1:3").contains("without `]`"));
    assert!(expand_err("n[0:999999]").contains("at most"));
    assert!(expand_err("n[0:999]m[0:999]").contains("at most"));
}

#[test]
fn ports_on_host_names() {
    assert_eq!(expand("host:2222"), (strings(&["host"]), Some(2222)));
    assert_eq!(
        expand("db[1:2]:2222"),
        (strings(&["db1", "db2"]), Some(2222))
    );
    assert_eq!(expand("[::1]:2222"), (strings(&["::1"]), Some(2222)));
    assert_eq!(expand("[2001:db8::1]"), (strings(&["2001:db8::1"]), None));
    assert_eq!(expand("fe80::1"), (strings(&["fe80::1"]), None));
    assert_eq!(expand("10.0.0.1:22"), (strings(&["10.0.0.1"]), Some(22)));
    assert!(expand_err("host:abc").contains("not a number"));
    assert!(expand_err("host:").contains("not a number"));
    assert!(expand_err("host:70000").contains("1 to 65535"));
    assert!(expand_err("host:0").contains("1 to 65535"));
    assert!(expand_err(":22").contains("empty host name"));
    assert!(expand_err("[::1]x").contains("unexpected"));
}

// ---------------------------------------------------------------------------------------
// INI

#[test]
fn ini_groups_hosts_and_order() {
    let inv = ini(FLEET_INI);
    let all: Vec<&str> = inv.hosts().iter().map(|h| h.name.as_str()).collect();
    assert_eq!(all, FLEET_HOSTS);
    assert_eq!(
        names(&inv.group_hosts("web").unwrap()),
        strings(&FLEET_HOSTS[1..6])
    );
    assert_eq!(
        names(&inv.group_hosts("prod").unwrap()),
        strings(&FLEET_HOSTS[1..])
    );
    assert_eq!(
        names(&inv.group_hosts("ungrouped").unwrap()),
        strings(&FLEET_HOSTS[..1])
    );
    assert_eq!(
        names(&inv.group_hosts("all").unwrap()),
        strings(&FLEET_HOSTS)
    );
    let prod = inv.group("prod").unwrap();
    assert_eq!(prod.children, strings(&["web", "db"]));
    assert_eq!(prod.depth, 1);
    assert_eq!(inv.group("web").unwrap().depth, 2);
    assert_eq!(inv.group("web").unwrap().line, 4);
    assert_eq!(inv.group("all").unwrap().depth, 0);
    assert_eq!(inv.group("ungrouped").unwrap().depth, 1);
    assert_eq!(
        inv.host("www02.example.com").unwrap().groups,
        strings(&["prod", "web"])
    );
    assert_eq!(
        inv.host("bastion.example.net").unwrap().groups,
        strings(&["ungrouped"])
    );
    assert!(inv.warnings().is_empty(), "{:?}", inv.warnings());
}

#[test]
fn ini_host_lines_their_lines_ports_and_typed_values() {
    let inv = ini(FLEET_INI);
    let h = |n: &str| inv.host(n).unwrap();
    assert_eq!(h("bastion.example.net").line, 2);
    assert_eq!(h("www03.example.com").line, 5);
    assert_eq!(h("web-b.example.com").line, 6);
    assert_eq!(h("db2.example.com").line, 11);
    assert_eq!(var(h("www01.example.com"), "http_port"), Value::from(8080));
    assert_eq!(var(h("www01.example.com"), "tls"), Value::from(true));
    assert_eq!(
        var(h("web-a.example.com"), "ansible_port"),
        Value::from(2222)
    );
    assert_eq!(var(h("db1.example.com"), "role"), Value::from("primary"));
    assert_eq!(var(h("db1.example.com"), "ansible_port"), Value::from(5432));
    assert_eq!(
        var(h("db1.example.com"), "ansible_host"),
        Value::from("10.0.0.5")
    );
    assert_eq!(var(h("db2.example.com"), "role"), Value::from("replica"));
    assert_eq!(var(h("db2.example.com"), "weight"), Value::from(0.5));
}

#[test]
fn ini_vars_sections_are_strings() {
    let inv = ini(r#"
[g]
h1 n=5 s='5' q="'5'"

[g:vars]
port=8080
flag=FALSE
yes_no = True
quoted="two words"
single='x y'
mismatched="a'
spaced =  padded value  
comment=kept # dropped
hash=a#b
empty=
eq=a=b
"#);
    let h = inv.host("h1").unwrap();
    assert_eq!(var(h, "n"), Value::from(5));
    // shlex takes the quotes off first, as in Ansible: only "'5'" is a string
    assert_eq!(var(h, "s"), Value::from(5));
    assert_eq!(var(h, "q"), Value::from("5"));
    assert_eq!(var(h, "port"), Value::from("8080"));
    assert_eq!(var(h, "flag"), Value::from("FALSE"));
    assert_eq!(var(h, "yes_no"), Value::from("True"));
    assert_eq!(var(h, "quoted"), Value::from("two words"));
    assert_eq!(var(h, "single"), Value::from("x y"));
    assert_eq!(var(h, "mismatched"), Value::from("\"a'"));
    assert_eq!(var(h, "spaced"), Value::from("padded value"));
    assert_eq!(var(h, "comment"), Value::from("kept"));
    assert_eq!(var(h, "hash"), Value::from("a#b"));
    assert_eq!(var(h, "empty"), Value::from(""));
    assert_eq!(var(h, "eq"), Value::from("a=b"));
}

#[test]
fn ini_comments_and_quoted_host_values() {
    let inv = ini(concat!(
        "# comment\n",
        "; comment too\n",
        "   # indented comment\n",
        "h1 secret=\"'03#pa55'\" note=\"two words\" cut=ab#cd\n",
        "[g] # a group\n",
        "h2\n",
        "  ; still a comment\n",
    ));
    let h1 = inv.host("h1").unwrap();
    assert_eq!(var(h1, "secret"), Value::from("03#pa55"));
    assert_eq!(var(h1, "note"), Value::from("two words"));
    assert_eq!(var(h1, "cut"), Value::from("ab"));
    assert_eq!(names(&inv.group_hosts("g").unwrap()), strings(&["h2"]));
}

#[test]
fn ini_undefined_groups_are_created_empty_with_a_warning() {
    let inv = ini("[parent:children]\nghost\n\n[lonely:vars]\nx=1\n\n[parent]\nh1\n");
    assert!(inv.group("ghost").unwrap().hosts.is_empty());
    assert_eq!(inv.group("ghost").unwrap().depth, 2);
    assert!(inv.group("lonely").is_some());
    assert_eq!(names(&inv.group_hosts("parent").unwrap()), strings(&["h1"]));
    let warned: Vec<(usize, String)> = inv
        .warnings()
        .iter()
        .map(|d| (d.position().unwrap().1, d.message.clone()))
        .collect();
    assert_eq!(warned.len(), 2, "{warned:?}");
    assert_eq!(warned[0].0, 2);
    assert!(warned[0].1.contains("`ghost`"));
    assert_eq!(warned[1].0, 4);
    assert!(warned[1].1.contains("`lonely`"));
    // defined later: no warning
    let inv = ini("[p:children]\nc\n[c:vars]\nx=1\n[c]\nh\n");
    assert!(inv.warnings().is_empty(), "{:?}", inv.warnings());
    assert_eq!(var(inv.host("h").unwrap(), "x"), Value::from("1"));
}

#[test]
fn ungrouped_is_only_for_hosts_in_no_other_group() {
    let inv = ini("h1\nh2\n[g]\nh2\n[all]\nh3\n[ungrouped]\nh4\n");
    assert_eq!(
        names(&inv.group_hosts("ungrouped").unwrap()),
        strings(&["h1", "h3", "h4"])
    );
    assert_eq!(inv.host("h2").unwrap().groups, strings(&["g"]));
    assert_eq!(
        names(&inv.group_hosts("all").unwrap()),
        strings(&["h1", "h2", "h3", "h4"])
    );
}

#[test]
fn vars_precedence_all_then_depth_then_name_then_host() {
    let inv = ini(r#"
[all:vars]
v=all
a_only=1

[top:children]
mid

[mid:children]
leaf

[top:vars]
v=top
top_only=1

[mid:vars]
v=mid

[leaf:vars]
v=leaf

[leaf]
h1
h2 v=host

[zeta]
h1

[zeta:vars]
v=zeta
z=zeta

[alpha]
h1

[alpha:vars]
z=alpha
"#);
    let h1 = inv.host("h1").unwrap();
    // leaf (depth 3) beats mid, top, and the depth-1 groups alpha and zeta
    assert_eq!(var(h1, "v"), Value::from("leaf"));
    // alpha and zeta at the same depth: by name, zeta last
    assert_eq!(var(h1, "z"), Value::from("zeta"));
    assert_eq!(var(h1, "a_only"), Value::from("1"));
    assert_eq!(var(h1, "top_only"), Value::from("1"));
    assert_eq!(h1.groups, strings(&["alpha", "top", "zeta", "mid", "leaf"]));
    assert_eq!(var(inv.host("h2").unwrap(), "v"), Value::from("host"));
}

#[test]
fn ansible_group_priority_orders_groups_of_one_depth() {
    let inv = ini(r#"
[alpha]
h1
[zeta]
h1
[alpha:vars]
z=alpha
ansible_group_priority=10
[zeta:vars]
z=zeta
"#);
    let h1 = inv.host("h1").unwrap();
    assert_eq!(var(h1, "z"), Value::from("alpha"));
    assert!(
        h1.vars
            .get_attr("ansible_group_priority")
            .unwrap()
            .is_undefined()
    );
    assert_eq!(inv.group("alpha").unwrap().priority, 10);
    assert_eq!(inv.group("zeta").unwrap().priority, 1);
    // priority does not beat depth
    let inv = ini(r#"
[parent:children]
child
[child]
h1
[parent:vars]
z=parent
ansible_group_priority=99
[child:vars]
z=child
"#);
    assert_eq!(var(inv.host("h1").unwrap(), "z"), Value::from("child"));
    let e = errors("hosts", "[g]\nh\n[g:vars]\nansible_group_priority=high\n");
    assert_eq!(e[0].0, 4);
    assert!(e[0].2.contains("not a number"), "{e:?}");
}

#[test]
fn a_host_defined_twice_keeps_its_first_line_and_merges_vars() {
    let inv = ini("[a]\nh x=1 y=1\n[b]\nh y=2\n");
    let h = inv.host("h").unwrap();
    assert_eq!(h.line, 2);
    assert_eq!(var(h, "x"), Value::from(1));
    assert_eq!(var(h, "y"), Value::from(2));
    assert_eq!(h.groups, strings(&["a", "b"]));
    assert_eq!(inv.hosts().len(), 1);
}

#[test]
fn children_loops_are_errors_at_their_line() {
    let e = errors(
        "hosts",
        "[a:children]\nb\n\n[b:children]\nc\n\n[c:children]\na\n",
    );
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!((e[0].0, e[0].1), (8, 1));
    assert!(e[0].2.contains("c → a → b → c"), "{e:?}");
    let e = errors("hosts", "[a:children]\na\n");
    assert_eq!(e[0].0, 2);
    assert!(e[0].2.contains("loop"));
    let e = errors("hosts", "[a:children]\nall\n");
    assert!(e[0].2.contains("`all` cannot be a child"));
}

#[test]
fn ini_errors_have_lines_columns_and_hints() {
    let text = concat!(
        "good\n",                               // 1
        "[web]\n",                              // 2
        "www[05:01].example.com\n",             // 3
        "  db x=\"unclosed\n",                  // 4
        "host:abc\n",                           // 5
        "h2 novalue\n",                         // 6
        "[bad section]\n",                      // 7
        "ignored-under-bad-section\n",          // 8
        "[g:weird]\n",                          // 9
        "[g:vars]\n",                           // 10
        "no equals here\n",                     // 11
        "[g:children]\n",                       // 12
        "two words\n",                          // 13
        "[g]\n",                                // 14
        "h3 ansible_port=http\n",               // 15
        "h4 ansible_host=-oProxy=x\n",          // 16
        "h5 ansible_ssh_extra_args='-o \"x'\n", // 17
    );
    let e = errors("hosts", text);
    let at: Vec<(usize, usize)> = e.iter().map(|(l, c, _)| (*l, *c)).collect();
    assert_eq!(
        at,
        [
            (3, 4),
            (4, 8),
            (5, 6),
            (6, 4),
            (7, 1),
            (9, 1),
            (11, 1),
            (13, 1),
            (15, 4),
            (16, 4),
            (17, 4)
        ],
        "{e:#?}"
    );
    assert!(e[0].2.contains("counts down"));
    assert!(e[1].2.contains("No closing quotation"));
    assert!(e[2].2.contains("not a number"));
    assert!(e[3].2.contains("key=value"));
    assert!(e[4].2.contains("invalid section"));
    assert!(e[5].2.contains("unknown type `weird`"));
    assert!(e[6].2.contains("key=value"));
    assert!(e[7].2.contains("group name"));
    assert!(e[8].2.contains("ansible_port"));
    assert!(e[9].2.contains("starts with `-`"));
    assert!(e[10].2.contains("No closing quotation"));
}

#[test]
fn templated_connection_vars_are_refused() {
    let e = errors(
        "hosts",
        "h ansible_host=\"{{ other }}\" note=\"{{ fine }}\"\n",
    );
    assert_eq!(e.len(), 1);
    assert!(e[0].2.contains("Jinja"));
}

#[test]
fn errors_render_with_the_file_and_a_caret() {
    let err = parse("inv/hosts", "[web]\nwww[05:01].x\n").unwrap_err();
    let text = err[0].render(false);
    assert!(text.contains("inv/hosts:2:4"), "{text}");
    assert!(text.contains("^^^^^^^"), "{text}");
    assert!(text.contains("help:"), "{text}");
}

// ---------------------------------------------------------------------------------------
// YAML

#[test]
fn yaml_and_ini_give_the_same_inventory() {
    let (a, b) = (ini(FLEET_INI), yaml(FLEET_YAML));
    let hosts =
        |inv: &Inventory| -> Vec<String> { inv.hosts().iter().map(|h| h.name.clone()).collect() };
    assert_eq!(hosts(&a), hosts(&b));
    for (x, y) in a.hosts().iter().zip(b.hosts()) {
        assert_eq!(entries(&x.vars), entries(&y.vars), "{}", x.name);
        assert_eq!(x.groups, y.groups, "{}", x.name);
    }
    // (`all` lists the YAML's `all: hosts:` itself, as Ansible keeps them there too)
    assert_eq!(a.group("all").unwrap().hosts, Vec::<String>::new());
    assert_eq!(b.group("all").unwrap().hosts, strings(&FLEET_HOSTS[..1]));
    for g in ["ungrouped", "prod", "web", "db"] {
        let (x, y) = (a.group(g).unwrap(), b.group(g).unwrap());
        assert_eq!(
            (&x.hosts, &x.children, x.depth),
            (&y.hosts, &y.children, y.depth)
        );
    }
    let on = strings(&["prod,bastion.example.net", "db1.example.com"]);
    let (ta, tb) = (
        resolve(Some(&a), &on).unwrap(),
        resolve(Some(&b), &on).unwrap(),
    );
    assert_eq!(ta.len(), 8);
    for (x, y) in ta.iter().zip(&tb) {
        assert_eq!(x.name, y.name);
        assert_eq!(x.destination, y.destination);
        assert_eq!(entries(&x.vars), entries(&y.vars));
    }
    assert!(b.warnings().is_empty(), "{:?}", b.warnings());
}

#[test]
fn yaml_host_lines_point_at_their_keys() {
    let inv = yaml(FLEET_YAML);
    let line = |n: &str| inv.host(n).unwrap().line;
    assert_eq!(line("bastion.example.net"), 4);
    assert_eq!(line("www02.example.com"), 17);
    assert_eq!(line("web-b.example.com"), 20);
    assert_eq!(line("db1.example.com"), 26);
    assert_eq!(inv.group("web").unwrap().line, 15);
}

#[test]
fn yaml_is_detected_by_content() {
    // no extension: the first significant line decides
    let inv = parse("inventory", "# hosts\n\nall:\n  hosts:\n    a:\n").unwrap();
    assert_eq!(inv.hosts()[0].name, "a");
    let inv = parse("inventory", "---\nweb: {hosts: {b: null}}\n").unwrap();
    assert_eq!(names(&inv.group_hosts("web").unwrap()), strings(&["b"]));
    let inv = parse("inventory", "db:2222 x=1\n").unwrap();
    assert_eq!(var(&inv.hosts()[0], "ansible_port"), Value::from(2222));
    let inv = parse("inventory", "h1 note=\"a: b\"\n").unwrap();
    assert_eq!(var(&inv.hosts()[0], "note"), Value::from("a: b"));
    let inv = parse("inventory", "\"web servers\":\n  hosts: {w: }\n").unwrap();
    assert!(inv.group("web servers").is_some());
    let inv = parse("inventory", "{\"all\": {\"hosts\": {\"j\": null}}}\n").unwrap();
    assert_eq!(inv.hosts()[0].name, "j");
    let inv = parse("inventory", "[web]\nw1\n").unwrap();
    assert_eq!(inv.hosts()[0].name, "w1");
    // a .ini file is INI whatever it holds: `all:` is a host with an empty port there
    let e = errors("hosts.ini", "all:\n  hosts:\n");
    assert!(e[0].2.contains("port"), "{e:?}");
}

#[test]
fn yaml_top_level_groups_string_sections_and_nulls() {
    let inv = yaml(
        r#"
web:
  hosts: w1
  vars:
    role: web
db:
  hosts:
    d[1:2]:
      ansible_user: pg
  children:
    empty:
    nested:
      hosts: {n1: ~}
all:
  vars:
    role: none
"#,
    );
    assert_eq!(names(&inv.group_hosts("web").unwrap()), strings(&["w1"]));
    assert_eq!(
        names(&inv.group_hosts("db").unwrap()),
        strings(&["d1", "d2", "n1"])
    );
    assert_eq!(var(inv.host("w1").unwrap(), "role"), Value::from("web"));
    assert_eq!(var(inv.host("d2").unwrap(), "role"), Value::from("none"));
    assert_eq!(
        var(inv.host("d2").unwrap(), "ansible_user"),
        Value::from("pg")
    );
    assert!(inv.group("empty").unwrap().hosts.is_empty());
    assert_eq!(inv.group("nested").unwrap().depth, 2);
}

#[test]
fn yaml_values_keep_their_yaml_types() {
    let inv = yaml(
        "all:\n  hosts:\n    h:\n      a: yes\n      b: '22'\n      c: [1, 2]\n      d: {k: v}\n",
    );
    let h = inv.host("h").unwrap();
    assert_eq!(var(h, "a"), Value::from(true));
    assert_eq!(var(h, "b"), Value::from("22"));
    assert_eq!(
        var(h, "c"),
        Value::from(vec![Value::from(1), Value::from(2)])
    );
    assert_eq!(var(h, "d").get_attr("k").unwrap(), Value::from("v"));
}

#[test]
fn yaml_warnings_for_what_is_skipped() {
    let inv = yaml("all:\n  hots:\n    h1:\n  children:\n    g: 5\n");
    let msgs: Vec<String> = inv.warnings().iter().map(|d| d.message.clone()).collect();
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    assert!(msgs[0].contains("`hots`"));
    assert_eq!(inv.warnings()[0].position().unwrap().1, 2);
    assert!(msgs[1].contains("`g` is not a group"));
}

#[test]
fn yaml_errors_have_lines() {
    let e = errors("h.yml", "all:\n  hosts:\n    a:\n    b: [1\n");
    assert!(e[0].2.contains("invalid YAML"), "{e:?}");
    assert!(e[0].0 >= 4);
    let e = errors("h.yml", "all:\n  hosts:\n    - a\n    - b\n");
    assert_eq!(e[0].0, 2);
    assert!(e[0].2.contains("not a mapping"));
    let e = errors(
        "h.yml",
        "all:\n  children:\n    web:\n      hosts:\n        w1:\n          ansible_port: ssh\n",
    );
    assert_eq!((e[0].0, e[0].1), (6, 11));
    assert!(e[0].2.contains("ansible_port"));
    let e = errors("h.yml", "all:\n  hosts:\n    w[3:1]:\n");
    assert_eq!((e[0].0, e[0].1), (3, 6));
    let e = errors("h.yml", "all:\n  hosts:\n    w1: just text\n");
    assert_eq!(e[0].0, 3);
    let e = errors("h.yml", "plugin: aws_ec2\nregions: [x]\n");
    assert!(e[0].2.contains("plugin"));
    let e = errors("h.yml", "- a\n- b\n");
    assert!(e[0].2.contains("mapping of groups"));
    let e = errors(
        "h.yml",
        "a:\n  children:\n    b:\n      children:\n        a:\n",
    );
    // `b` under `a` closes the loop: `a` was put under `b` first, as Ansible reads it
    assert_eq!(e[0].0, 3);
    assert!(e[0].2.contains("a → b → a"), "{e:?}");
}

#[test]
fn empty_inventories_have_no_hosts() {
    assert!(ini("").hosts().is_empty());
    assert!(ini("# nothing\n").hosts().is_empty());
    let inv = yaml("# nothing\n");
    assert!(inv.hosts().is_empty());
    assert_eq!(inv.warnings().len(), 1);
}

// ---------------------------------------------------------------------------------------
// Destinations

#[test]
fn connection_vars_make_the_ssh_command_line() {
    let home = std::env::var("HOME").unwrap_or_default();
    let inv = ini(concat!(
        "[web]\n",
        "w1 ansible_host=10.1.2.3 ansible_port=2200 ansible_user=deploy ",
        "ansible_ssh_private_key_file=~/.ssh/deploy ",
        "ansible_ssh_extra_args=\"-o 'ServerAliveInterval=30'\"\n",
        "w2\n",
        "[web:vars]\n",
        "ansible_ssh_common_args=-o ProxyJump=bastion.example.net\n",
    ));
    let w1 = inv.destination(inv.host("w1").unwrap()).unwrap();
    let key = if home.is_empty() {
        "~/.ssh/deploy".to_string()
    } else {
        format!("{}/.ssh/deploy", home.trim_end_matches('/'))
    };
    assert_eq!(
        w1,
        Destination {
            host: "10.1.2.3".into(),
            port: Some(2200),
            user: Some("deploy".into()),
            identity: Some(PathBuf::from(&key)),
            ssh_args: strings(&[
                "-o",
                "ProxyJump=bastion.example.net",
                "-o",
                "ServerAliveInterval=30"
            ]),
        }
    );
    assert_eq!(
        w1.ssh_args(),
        strings(&[
            "-p",
            "2200",
            "-l",
            "deploy",
            "-i",
            &key,
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "ProxyJump=bastion.example.net",
            "-o",
            "ServerAliveInterval=30",
            "--",
            "10.1.2.3"
        ])
    );
    let w2 = inv.destination(inv.host("w2").unwrap()).unwrap();
    assert_eq!(
        w2.ssh_args(),
        strings(&["-o", "ProxyJump=bastion.example.net", "--", "w2"])
    );
    assert_eq!(w1.to_string(), "ssh://deploy@10.1.2.3:2200");
}

#[test]
fn ssh_variants_of_connection_vars_win() {
    let inv = ini(concat!(
        "h ansible_host=a ansible_ssh_host=b ansible_port=1 ansible_ssh_port='2' ",
        "ansible_user=u ansible_ssh_user=v ansible_private_key_file=/k1 ",
        "ansible_ssh_private_key_file=/k2\n",
        "n ansible_host=None ansible_user=None\n",
    ));
    let d = inv.destination(inv.host("h").unwrap()).unwrap();
    assert_eq!(d.host, "b");
    assert_eq!(d.port, Some(2));
    assert_eq!(d.user.as_deref(), Some("v"));
    assert_eq!(d.identity, Some(PathBuf::from("/k2")));
    let n = inv.destination(inv.host("n").unwrap()).unwrap();
    assert_eq!((n.host.as_str(), n.user), ("n", None));
}

#[test]
fn a_host_ssh_would_read_as_an_option_is_refused_where_it_is() {
    let inv = ini("[g]\nok\n-oProxyCommand=x\n");
    let e = inv
        .destination(inv.host("-oProxyCommand=x").unwrap())
        .unwrap_err();
    assert_eq!(e.position().unwrap().1, 3);
    assert!(e.message.contains("starts with `-`"), "{}", e.message);
    let e = resolve(Some(&inv), &strings(&["g"])).unwrap_err();
    assert_eq!(e.position().unwrap().1, 3);
    assert!(
        Destination {
            host: "-x".into(),
            port: None,
            user: None,
            identity: None,
            ssh_args: Vec::new()
        }
        .ssh_args()
        .ends_with(&strings(&["--", "-x"])),
        "a hand-made destination is still behind `--`"
    );
}

#[test]
fn destinations_not_in_the_inventory() {
    let d = |s: &str| parse_destination(s).unwrap();
    assert_eq!(d("web1").ssh_args(), strings(&["--", "web1"]));
    let ud = d("admin@web1.example.com");
    assert_eq!(
        (ud.user.as_deref(), ud.host.as_str(), ud.port),
        (Some("admin"), "web1.example.com", None)
    );
    let full = d("ssh://admin@web1:2222");
    assert_eq!(
        full.ssh_args(),
        strings(&["-p", "2222", "-l", "admin", "--", "web1"])
    );
    let v6 = d("ssh://root@[2001:db8::1]:2200");
    assert_eq!(
        (v6.host.as_str(), v6.port, v6.user.as_deref()),
        ("2001:db8::1", Some(2200), Some("root"))
    );
    assert_eq!(v6.to_string(), "ssh://root@[2001:db8::1]:2200");
    assert_eq!(d("ssh://[::1]").host, "::1");
    assert_eq!(d("ssh://h/").host, "h");
    assert_eq!(d("[::1]").host, "::1");
    assert_eq!(d("fe80::1").host, "fe80::1");
    assert_eq!(d("me@[::1]").user.as_deref(), Some("me"));
    assert_eq!(d("a@b@c").user.as_deref(), Some("a@b"));
    for (bad, why) in [
        ("", "empty"),
        ("-oProxyCommand=x", "starts with `-`"),
        ("user@-x", "starts with `-`"),
        ("-l@host", "starts with `-`"),
        ("@host", "empty"),
        ("user@", "empty"),
        ("a b", "space"),
        ("host:22", "ssh://host:22"),
        ("u@host:22", "ssh://u@host:22"),
        ("ssh://h:abc", "not a number"),
        ("ssh://h:0", "1 to 65535"),
        ("ssh://h:", "not a number"),
        ("ssh://u:pw@h", "password"),
        ("ssh://h/path", "no path"),
        ("ssh://::1", "brackets"),
        ("ssh://[::1", "without `]`"),
        ("ssh://[::1]x", "unexpected"),
        ("ssh://", "empty"),
    ] {
        let e = parse_destination(bad).unwrap_err();
        assert!(e.contains(why), "{bad:?}: {e}");
    }
}

// ---------------------------------------------------------------------------------------
// Resolving --on

fn target_names(t: &[Target]) -> Vec<String> {
    t.iter().map(|t| t.name.clone()).collect()
}

#[test]
fn resolve_groups_hosts_all_and_destinations() {
    let inv = ini(FLEET_INI);
    let r = |on: &[&str]| resolve(Some(&inv), &strings(on)).unwrap();
    assert_eq!(target_names(&r(&["db"])), strings(&FLEET_HOSTS[6..]));
    assert_eq!(target_names(&r(&["all"])), strings(&FLEET_HOSTS));
    assert_eq!(
        target_names(&r(&[
            "db2.example.com,web",
            "db1.example.com",
            "db2.example.com"
        ])),
        strings(&[
            "db2.example.com",
            "www01.example.com",
            "www02.example.com",
            "www03.example.com",
            "web-a.example.com",
            "web-b.example.com",
            "db1.example.com"
        ])
    );
    let t = r(&[" db1.example.com , other@elsewhere "]);
    assert_eq!(
        target_names(&t),
        strings(&["db1.example.com", "other@elsewhere"])
    );
    assert!(t[0].from_inventory);
    assert_eq!(t[0].destination.host, "10.0.0.5");
    assert_eq!(t[0].destination.port, Some(5432));
    assert_eq!(t[0].destination.user.as_deref(), Some("deploy"));
    assert_eq!(var_of(&t[0], "tier"), Value::from("production"));
    assert!(!t[1].from_inventory);
    assert_eq!(t[1].destination.user.as_deref(), Some("other"));
    assert_eq!(t[1].vars.len(), Some(0));
    // a trailing comma, as in Ansible's `-i 'host,'`
    assert_eq!(target_names(&r(&["bastion.example.net,"])).len(), 1);
}

fn var_of(t: &Target, key: &str) -> Value {
    t.vars.get_attr(key).unwrap()
}

#[test]
fn resolve_without_an_inventory() {
    let t = resolve(None, &strings(&["ssh://me@h1:2222,h2", "h1"])).unwrap();
    assert_eq!(target_names(&t), strings(&["ssh://me@h1:2222", "h2", "h1"]));
    assert_eq!(t[0].destination.port, Some(2222));
    let e = resolve(None, &strings(&["all"])).unwrap_err();
    assert!(e.message.contains("no inventory"));
    assert!(e.hint.is_some());
}

#[test]
fn resolve_refuses_what_it_cannot_run_on() {
    let inv = ini(FLEET_INI);
    for (on, why) in [
        ("web*", "patterns"),
        ("!db", "patterns"),
        ("web:&db", "patterns"),
        ("~www.*", "patterns"),
        ("-oProxyCommand=x", "starts with `-`"),
        ("", "no host"),
        (",", "no host"),
    ] {
        let e = resolve(Some(&inv), &strings(&[on])).unwrap_err();
        assert!(e.message.contains(why), "{on:?}: {}", e.message);
    }
    let e = resolve(Some(&inv), &strings(&["nosuch:22"])).unwrap_err();
    assert!(e.hint.unwrap().contains("not a group or host"));
    // an empty group
    let inv = ini("[p:children]\nempty\n");
    assert!(resolve(Some(&inv), &strings(&["empty"])).is_err());
}

// ---------------------------------------------------------------------------------------
// Finding and reading the file

#[test]
fn locate_precedence() {
    let (a, b) = (Path::new("cli.ini"), Path::new("/site/inv.yml"));
    let env = OsStr::new("env.ini");
    assert_eq!(locate(Some(a), Some(b), Some(env)), Some(a.to_path_buf()));
    assert_eq!(locate(None, Some(b), Some(env)), Some(b.to_path_buf()));
    assert_eq!(
        locate(None, None, Some(env)),
        Some(PathBuf::from("env.ini"))
    );
    assert_eq!(locate(None, None, Some(OsStr::new(""))), None);
    assert_eq!(locate(None, Some(Path::new("")), None), None);
    assert_eq!(locate(None, None, None), None);
}

#[test]
fn site_config_inventory_is_relative_to_the_site_root() {
    let config = Value::from_pairs([(
        "runbook",
        Value::from_pairs([("inventory", Value::from("ops/hosts.yml"))]),
    )]);
    assert_eq!(
        site_inventory(&config, Path::new("/srv/docs")),
        Some(PathBuf::from("/srv/docs/ops/hosts.yml"))
    );
    let abs = Value::from_pairs([(
        "runbook",
        Value::from_pairs([("inventory", Value::from("/etc/ansible/hosts"))]),
    )]);
    assert_eq!(
        site_inventory(&abs, Path::new("/srv/docs")),
        Some(PathBuf::from("/etc/ansible/hosts"))
    );
    let none = Value::from_pairs([("title", Value::from("x"))]);
    assert_eq!(site_inventory(&none, Path::new("/srv/docs")), None);
}

#[test]
fn load_reads_files_and_reports_what_it_cannot() {
    let dir = tempfile::tempdir().unwrap();
    let ini_path = dir.path().join("hosts");
    std::fs::write(&ini_path, FLEET_INI).unwrap();
    let inv = Inventory::load(&ini_path).unwrap();
    assert_eq!(inv.hosts().len(), 8);
    let yml = dir.path().join("hosts.yaml");
    std::fs::write(&yml, FLEET_YAML).unwrap();
    assert_eq!(Inventory::load(&yml).unwrap().hosts().len(), 8);

    let missing = dir.path().join("nope");
    let e = Inventory::load(&missing).unwrap_err();
    let (file, line, _) = e[0].position().unwrap();
    assert!(file.ends_with("nope"), "{file}");
    assert_eq!(line, 1);
    assert!(e[0].message.contains("cannot read inventory"));
    assert!(e[0].hint.is_some());

    let e = Inventory::load(dir.path()).unwrap_err();
    assert!(e[0].message.contains("is a directory"));

    let latin1 = dir.path().join("latin1");
    std::fs::write(&latin1, b"[g]\nh caf\xe9=1\n").unwrap();
    let e = Inventory::load(&latin1).unwrap_err();
    assert!(
        e[0].message.contains(":2:6: is not valid UTF-8"),
        "{}",
        e[0].message
    );

    std::fs::create_dir(dir.path().join("group_vars")).unwrap();
    let inv = Inventory::load(&ini_path).unwrap();
    assert!(inv.warnings()[0].message.contains("group_vars/"));
}

#[test]
fn a_host_and_a_group_of_one_name_warn() {
    let inv = ini("[web]\nweb\n");
    assert_eq!(inv.warnings().len(), 1);
    assert!(
        inv.warnings()[0]
            .message
            .contains("both a group and a host")
    );
    let t = resolve(Some(&inv), &strings(&["web"])).unwrap();
    assert_eq!(target_names(&t), strings(&["web"]));
}
