//! Every shipped eval config parses into what the binary reads, and is valid.

fn config(name: &str) -> String {
    let p = testkit::configs().join("eval").join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn shipped_eval_configs_parse() {
    let task: data::classify::ClassTask = toml::from_str(&config("custom_task.toml")).unwrap();
    task.validate().unwrap();
    assert_eq!(task.labels.len(), 5);
    let prompts: data::task::Prompts = toml::from_str(&config("prompts.toml")).unwrap();
    assert_eq!(prompts, data::task::Prompts::default());
}
