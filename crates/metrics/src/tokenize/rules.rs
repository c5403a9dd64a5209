//! The rules of Stanford CoreNLP 3.4.1's `PTBLexer.flex`, the tokeniser pycocoevalcap runs,
//! restated as data for this crate's matcher.
//!
//! The macro and rule patterns below are the lexer's own (CoreNLP 3.4.1,
//! `src/edu/stanford/nlp/process/PTBLexer.flex`, tag `v3.4.1`), in rule order, because the
//! tokenisation is only reproduced exactly if the same patterns compete in the same order
//! (JFlex: longest match, then earliest rule). Only the options pycocoevalcap uses matter:
//! `-preserveLines` (i.e. `tokenizeNLs`), default `ptb3Escaping`, traditional (not strict)
//! Treebank 3 mode, untokenisable characters deleted. Quirks are kept on purpose, e.g.
//! the `,-_` range in `LIKELYURL` and the literal `[^x=~<>]` in `ASIANSMILEY`.

use super::lexer::Action;

/// `NAME = pattern` definitions (JFlex macros).
pub(crate) const MACROS: &[(&str, &str)] = &[
    (
        "SGML",
        r#"\<([!\?][A-Za-z\-][^>\r\n]*|[A-Za-z][A-Za-z0-9_:\.\-]*([ ]+([A-Za-z][A-Za-z0-9_:\.\-]*|[A-Za-z][A-Za-z0-9_:\.\-]*[ ]*=[ ]*('[^']*'|\"[^\"]*\")))*[ ]*\/?|\/[A-Za-z][A-Za-z0-9_:\.\-]*)[ ]*\>"#,
    ),
    (
        "SPMDASH",
        r"&(MD|mdash|ndash);|[\u0096\u0097\u2013\u2014\u2015]",
    ),
    ("SPAMP", r"&amp;"),
    ("SPPUNC", r"&(HT|TL|UR|LR|QC|QL|QR|odq|cdq|#[0-9]+);"),
    ("SPLET", r"&[aeiouAEIOU](acute|grave|uml);"),
    ("SPACE", r"[ \t\u00A0\u2000-\u200A\u3000]"),
    ("SPACES", r"{SPACE}+"),
    ("NEWLINE", r"\r|\r?\n|\u2028|\u2029|\u000B|\u000C|\u0085"),
    ("SPACENL", r"({SPACE}|{NEWLINE})"),
    ("SPACENLS", r"{SPACENL}+"),
    ("SENTEND", r"{SPACENL}({SPACENL}|[:uppercase:]|{SGML})"),
    ("DIGIT", r"[:digit:]|[\u07C0-\u07C9]"),
    ("DATE", r"{DIGIT}{1,2}[\-\/]{DIGIT}{1,2}[\-\/]{DIGIT}{2,4}"),
    (
        "NUM",
        r"{DIGIT}+|{DIGIT}*([.:,\u00AD\u066B\u066C]{DIGIT}+)+",
    ),
    ("NUMBER", r"[\-+]?{NUM}"),
    (
        "SUBSUPNUM",
        r"[\u207A\u207B\u208A\u208B]?([\u2070\u00B9\u00B2\u00B3\u2074-\u2079]+|[\u2080-\u2089]+)",
    ),
    (
        "FRAC",
        r"({DIGIT}{1,4}[- \u00A0])?{DIGIT}{1,4}(\\?\/|\u2044){DIGIT}{1,4}",
    ),
    ("FRAC2", r"[\u00BC\u00BD\u00BE\u2153-\u215E]"),
    ("DOLSIGN", r"([A-Z]*\$|#)"),
    (
        "DOLSIGN2",
        r"[\u00A2\u00A3\u00A4\u00A5\u0080\u20A0\u20AC\u060B\u0E3F\u20A4\uFFE0\uFFE1\uFFE5\uFFE6]",
    ),
    (
        "LETTER",
        r"([:letter:]|{SPLET}|[\u00AD\u0237-\u024F\u02C2-\u02C5\u02D2-\u02DF\u02E5-\u02FF\u0300-\u036F\u0370-\u037D\u0384\u0385\u03CF\u03F6\u03FC-\u03FF\u0483-\u0487\u04CF\u04F6-\u04FF\u0510-\u0525\u055A-\u055F\u0591-\u05BD\u05BF\u05C1\u05C2\u05C4\u05C5\u05C7\u0615-\u061A\u063B-\u063F\u064B-\u065E\u0670\u06D6-\u06EF\u06FA-\u06FF\u070F\u0711\u0730-\u074F\u0750-\u077F\u07A6-\u07B1\u07CA-\u07F5\u07FA\u0900-\u0903\u093C\u093E-\u094E\u0951-\u0955\u0962-\u0963\u0981-\u0983\u09BC-\u09C4\u09C7\u09C8\u09CB-\u09CD\u09D7\u09E2\u09E3\u0A01-\u0A03\u0A3C\u0A3E-\u0A4F\u0A81-\u0A83\u0ABC-\u0ACF\u0B82\u0BBE-\u0BC2\u0BC6-\u0BC8\u0BCA-\u0BCD\u0C01-\u0C03\u0C3E-\u0C56\u0D3E-\u0D44\u0D46-\u0D48\u0E30-\u0E3A\u0E47-\u0E4E\u0EB1-\u0EBC\u0EC8-\u0ECD])",
    ),
    (
        "WORD",
        r"{LETTER}({LETTER}|{DIGIT})*([.!?]{LETTER}({LETTER}|{DIGIT})*)*",
    ),
    (
        "FILENAME_EXT",
        r"bat|bmp|c|class|cgi|cpp|dll|doc|docx|exe|gif|gz|h|htm|html|jar|java|jpeg|jpg|mov|mp3|pdf|php|pl|png|ppt|ps|py|sql|tar|txt|wav|x|xml|zip",
    ),
    (
        "FILENAME",
        r"({LETTER}|{DIGIT})+([.]({LETTER}|{DIGIT})+)*([.]{FILENAME_EXT})",
    ),
    (
        "THING",
        r"([dDoOlL]{APOSETCETERA}([:letter:]|[:digit:]))?([:letter:]|[:digit:])+({HYPHEN}([dDoOlL]{APOSETCETERA}([:letter:]|[:digit:]))?([:letter:]|[:digit:])+)*",
    ),
    ("THINGA", r"[A-Z]+(([+&]|{SPAMP})[A-Z]+)+"),
    (
        "THING3",
        r"[A-Za-z0-9]+(-[A-Za-z]+){0,2}(\\?\/[A-Za-z0-9]+(-[A-Za-z]+){0,2}){1,2}",
    ),
    ("APOS", r"['\u0092\u2019]|&apos;"),
    ("APOSETCETERA", r"{APOS}|[`\u0091\u2018\u201B]"),
    (
        "HTHING",
        r"[A-Za-z0-9][A-Za-z0-9.,\u00AD]*(-([A-Za-z0-9\u00AD]+|{ACRO2}\.))+",
    ),
    ("REDAUX", r"{APOS}([msdMSD]|re|ve|ll)"),
    ("SWORD", r"[A-Za-z\u00AD]*[A-MO-Za-mo-z](\u00AD)*"),
    ("SREDAUX", r"n{APOSETCETERA}t"),
    (
        "APOWORD",
        r"{APOS}n{APOS}?|[lLdDjJ]{APOS}|Dunkin{APOS}|somethin{APOS}|ol{APOS}|{APOS}em|[A-HJ-XZn]{APOSETCETERA}[:letter:]{2}[:letter:]*|{APOS}[2-9]0s|{APOS}till?|[:letter:][:letter:]*[aeiouyAEIOUY]{APOSETCETERA}[aeiouA-Z][:letter:]*|{APOS}cause|cont'd\.?|'twas|nor'easter|c'mon|e'er|s'mores|ev'ry|li'l|nat'l|O{APOSETCETERA}o",
    ),
    ("APOWORD2", r"y{APOS}"),
    (
        "FULLURL",
        r#"https?:\/\/[^ \t\n\f\r\"<>|(){}]+[^ \t\n\f\r\"<>|.!?(){},-]"#,
    ),
    (
        "LIKELYURL",
        r#"((www\.([^ \t\n\f\r\"<>|.!?(){},]+\.)+[a-zA-Z]{2,4})|(([^ \t\n\f\r\"`'<>|.!?(){},-_$]+\.)+(com|net|org|edu)))(\/[^ \t\n\f\r\"<>|()]+[^ \t\n\f\r\"<>|.!?(){},-])?"#,
    ),
    (
        "EMAIL",
        r#"(&lt;|<)?[a-zA-Z0-9][^ \t\n\f\r\"<>|()\u00A0{}]*@([^ \t\n\f\r\"<>|(){}.\u00A0]+\.)*([^ \t\n\f\r\"<>|(){}.\u00A0]+)(&gt;|>)?"#,
    ),
    ("TWITTER_NAME", r"@[a-zA-Z_][a-zA-Z_0-9]*"),
    ("TWITTER_CATEGORY", r"#{LETTER}+"),
    ("TWITTER", r"{TWITTER_NAME}|{TWITTER_CATEGORY}"),
    (
        "ABMONTH",
        r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec",
    ),
    ("ABDAYS", r"Mon|Tue|Tues|Wed|Thu|Thurs|Fri"),
    (
        "ABSTATE",
        r"Ala|Ariz|[A]z|[A]rk|Calif|Colo|Conn|Ct|Dak|[D]el|Fla|Ga|[I]ll|Ind|Kans?|Ky|[L]a|[M]ass|Md|Mich|Minn|[M]iss|Mo|Mont|Neb|Nev|Okla|[O]re|[P]a|Penn|Tenn|[T]ex|Va|Vt|[W]ash|Wisc?|Wyo",
    ),
    (
        "ABCOMP",
        r"Inc|Cos?|Corp|Pp?t[ye]s?|Ltd|Plc|Rt|Bancorp|Bhd|Assn|Univ|Intl|Sys",
    ),
    ("ABNUM", r"tel|est|ext|sq"),
    ("ABPTIT", r"Jr|Sr|Bros|(Ed|Ph)\.D|Blvd|Rd|Esq"),
    (
        "ABBREV1",
        r"({ABMONTH}|{ABDAYS}|{ABSTATE}|{ABCOMP}|{ABNUM}|{ABPTIT}|etc|al|seq|Bldg)\.",
    ),
    (
        "ACRO",
        r"[A-Za-z](\.[A-Za-z])*|(Canada|Sino|Korean|EU|Japan|non)-U\.S|U\.S\.-(U\.K|U\.S\.S\.R)",
    ),
    (
        "ACRO2",
        r"[A-Za-z](\.[A-Za-z])+|(Canada|Sino|Korean|EU|Japan|non)-U\.S|U\.S\.-(U\.K|U\.S\.S\.R)",
    ),
    (
        "ABTITLE",
        r"Mr|Mrs|Ms|[M]iss|Drs?|Profs?|Sens?|Reps?|Attys?|Lt|Col|Gen|Messrs|Govs?|Adm|Rev|Maj|Sgt|Cpl|Pvt|Capt|Ste?|Ave|Pres|Lieut|Hon|Brig|Co?mdr|Pfc|Spc|Supts?|Det|Mt|Ft|Adj|Adv|Asst|Assoc|Ens|Insp|Mlle|Mme|Msgr|Sfc",
    ),
    ("ABCOMP2", r"Invt|Elec|Natl|M[ft]g|Dept"),
    (
        "ABBREV4",
        r"{ABTITLE}|vs|Alex|Wm|Jos|Cie|a\.k\.a|cf|TREAS|Ph|{ACRO}|{ABCOMP2}",
    ),
    ("ABBREV2", r"{ABBREV4}\."),
    ("ACRONYM", r"({ACRO})\."),
    ("ABBREV3", r"(ca|figs?|prop|nos?|art|bldg|prop|pp|op)\."),
    (
        "PHONE",
        r"(\([0-9]{2,3}\)[ \u00A0]?|(\+\+?)?([0-9]{2,4}[\- \u00A0])?[0-9]{2,4}[\- \u00A0])[0-9]{3,4}[\- \u00A0]?[0-9]{3,5}|((\+\+?)?[0-9]{2,4}\.)?[0-9]{2,4}\.[0-9]{3,4}\.[0-9]{3,5}",
    ),
    ("FAKEDUCKFEET", r"<<|>>"),
    ("LESSTHAN", r"<|&lt;"),
    ("GREATERTHAN", r">|&gt;"),
    ("HYPHEN", r"[-_\u058A\u2010\u2011]"),
    ("HYPHENS", r"\-+"),
    ("LDOTS", r"\.{3,5}|(\.[ \u00A0]){2,4}\.|[\u0085\u2026]"),
    ("ATS", r"@+"),
    ("UNDS", r"_+"),
    ("ASTS", r"\*+|(\\\*){1,3}"),
    ("HASHES", r"#+"),
    ("FNMARKS", r"{ATS}|{HASHES}|{UNDS}"),
    ("INSENTP", r"[,;:\u3001]"),
    (
        "QUOTES",
        r"{APOS}|''|[`\u2018\u2019\u201A\u201B\u201C\u201D\u0091\u0092\u0093\u0094\u201E\u201F\u2039\u203A\u00AB\u00BB]{1,2}",
    ),
    ("DBLQUOT", r#"\"|&quot;"#),
    (
        "TBSPEC",
        r"-(RRB|LRB|RCB|LCB|RSB|LSB)-|C\.D\.s|pro-|anti-|S(&|&amp;)P-500|S(&|&amp;)Ls|Cap{APOS}n|c{APOS}est",
    ),
    ("TBSPEC2", r"{APOS}[0-9][0-9]"),
    ("SMILEY", r"[<>]?[:;=][\-o\*']?[\(\)DPdpO\\{@\|\[\]]"),
    (
        "ASIANSMILEY",
        r"[\^x=~<>]\.\[\^x=~<>]|[\-\^x=~<>']_[\-\^x=~<>']|\([\-\^x=~<>'][_.]?[\-\^x=~<>']\)|\([\^x=~<>']-[\^x=~<>'`]\)",
    ),
    (
        "MISCSYMBOL",
        r"[+%&~\^|\\¦\u00A7¨\u00A9\u00AC\u00AE¯\u00B0-\u00B3\u00B4-\u00BA\u00D7\u00F7\u0387\u05BE\u05C0\u05C3\u05C6\u05F3\u05F4\u0600-\u0603\u0606-\u060A\u060C\u0614\u061B\u061E\u066A\u066D\u0703-\u070D\u07F6\u07F7\u07F8\u0964\u0965\u0E4F\u1FBD\u2016\u2017\u2020-\u2023\u2030-\u2038\u203B\u203E-\u2042\u2044\u207A-\u207F\u208A-\u208E\u2100-\u214F\u2190-\u21FF\u2200-\u2BFF\u3012\u30FB\uFF01-\uFF0F\uFF1A-\uFF20\uFF3B-\uFF40\uFF5B-\uFF65\uFF65]",
    ),
];

/// Trailing context of the ACRONYM rule: an acronym is sentence-final before these words.
const ACRONYM_CONTEXT: &str = r"({SPACENLS})([A]bout|[A]ccording|[A]dditionally|[A]fter|[A]n|[A]|[A]s|[A]t|[B]ut|[E]arlier|[H]e|[H]er|[H]ere|[H]owever|[I]f|[I]n|[I]t|[L]ast|[M]any|[M]ore|[M]r\.|[M]s\.|[N]ow|[O]nce|[O]ne|[O]ther|[O]ur|[S]he|[S]ince|[S]o|[S]ome|[S]uch|[T]hat|[T]he|[T]heir|[T]hen|[T]here|[T]hese|[T]hey|[T]his|[W]e|[W]hen|[W]hile|[W]hat|[Y]et|[Y]ou|{SGML}){SPACENL}";

/// One lexer rule: `main/look` (JFlex trailing context) and what to do with a match.
pub(crate) struct RuleSpec {
    pub main: &'static str,
    pub look: Option<&'static str>,
    pub action: Action,
}

const fn rule(main: &'static str, action: Action) -> RuleSpec {
    RuleSpec {
        main,
        look: None,
        action,
    }
}

const fn ctx(main: &'static str, look: &'static str, action: Action) -> RuleSpec {
    RuleSpec {
        main,
        look: Some(look),
        action,
    }
}

/// The rules active in the traditional-Treebank-3 state, in priority order.
pub(crate) const RULES: &[RuleSpec] = &[
    rule(r"c[+][+]", Action::Keep),
    rule(r"(c|f)#", Action::Keep),
    rule(r"cannot", Action::Pushback(3)),
    rule(r"'twas", Action::Pushback(3)),
    rule(r"'tis", Action::Pushback(2)),
    rule(r"gonna|gotta|lemme|gimme|wanna", Action::Pushback(2)),
    rule(r"{SGML}", Action::SpaceToNbsp),
    rule(r"{SPMDASH}", Action::Fixed("--")),
    rule(r"{SPAMP}", Action::Amp),
    rule(r"{SPPUNC}", Action::Keep),
    ctx(r"{WORD}", r"{REDAUX}", Action::SoftHyphens),
    ctx(r"{SWORD}", r"{SREDAUX}", Action::SoftHyphens),
    rule(r"{WORD}", Action::SoftHyphens),
    rule(r"{APOWORD}", Action::Keep),
    ctx(r"{APOWORD2}", r"[:letter:]", Action::Keep),
    rule(r"{FULLURL}", Action::Keep),
    rule(r"{LIKELYURL}", Action::Keep),
    rule(r"{EMAIL}", Action::Keep),
    rule(r"{TWITTER}", Action::Keep),
    ctx(r"{REDAUX}", r"[^A-Za-z]", Action::Quotes { left: false }),
    ctx(r"{SREDAUX}", r"[^A-Za-z]", Action::Quotes { left: false }),
    rule(r"{DATE}", Action::Keep),
    rule(r"{NUMBER}", Action::SoftHyphens),
    rule(r"{SUBSUPNUM}", Action::Keep),
    rule(r"{FRAC}", Action::SpaceToNbsp),
    rule(r"{FRAC2}", Action::Fractions),
    rule(r"{TBSPEC}", Action::Amp),
    rule(r"{THING3}", Action::Keep),
    rule(r"{DOLSIGN}", Action::Keep),
    rule(r"{DOLSIGN2}", Action::Currency),
    ctx(r"{ACRONYM}", ACRONYM_CONTEXT, Action::Acronym),
    ctx(r"{ABBREV3}", r"{SPACENL}?[:digit:]", Action::Keep),
    ctx(r"(pt[eyEY]|co)\.", r"{SPACE}(ltd|lim)", Action::Keep),
    ctx(r"{ABBREV1}", r"{SENTEND}", Action::PeriodAgain),
    ctx(r"{ABBREV1}", r"[^][^]", Action::Keep),
    rule(r"{ABBREV1}", Action::PeriodAgain),
    rule(r"{ABBREV2}", Action::Keep),
    ctx(r"{ABBREV4}", r"{SPACE}", Action::Keep),
    ctx(r"{ACRO}", r"{SPACENL}", Action::Keep),
    ctx(r"{TBSPEC2}", r"{SPACENL}", Action::Keep),
    ctx(r"{FILENAME}", r"({SPACENL}|[.?!,])", Action::Keep),
    ctx(r"{WORD}\.", r"{INSENTP}", Action::SoftHyphens),
    rule(r"{PHONE}", Action::Phone),
    ctx(r"{DBLQUOT}", r"[A-Za-z0-9$]", Action::Quotes { left: true }),
    rule(r"{DBLQUOT}", Action::Quotes { left: false }),
    rule(r"\x7f", Action::Skip),
    rule(r"{LESSTHAN}", Action::Fixed("<")),
    rule(r"{GREATERTHAN}", Action::Fixed(">")),
    ctx(r"{SMILEY}", r"[^A-Za-z0-9]", Action::Parens),
    rule(r"{ASIANSMILEY}", Action::Parens),
    rule(r"\{", Action::Fixed("-LCB-")),
    rule(r"\}", Action::Fixed("-RCB-")),
    rule(r"\[", Action::Fixed("-LSB-")),
    rule(r"\]", Action::Fixed("-RSB-")),
    rule(r"\(", Action::Fixed("-LRB-")),
    rule(r"\)", Action::Fixed("-RRB-")),
    rule(r"{HYPHENS}", Action::Hyphens),
    rule(r"{LDOTS}", Action::Fixed("...")),
    rule(r"{FNMARKS}", Action::Keep),
    rule(r"{ASTS}", Action::Keep),
    rule(r"{INSENTP}", Action::Keep),
    rule(r"[?!]+", Action::Keep),
    rule(
        r"[.¡¿\u037E\u0589\u061F\u06D4\u0700-\u0702\u07FA\u3002]",
        Action::Keep,
    ),
    rule(r"=", Action::Keep),
    rule(r"\/", Action::Keep),
    ctx(r"{HTHING}\.", r"{INSENTP}", Action::SoftHyphens),
    rule(r"{HTHING}", Action::SoftHyphens),
    ctx(r"{THING}\.", r"{INSENTP}", Action::Keep),
    rule(r"{THING}", Action::Keep),
    ctx(r"{THINGA}\.", r"{INSENTP}", Action::Amp),
    rule(r"{THINGA}", Action::Amp),
    ctx(
        r"'",
        r"[A-Za-z][^ \t\n\r\u00A0]",
        Action::Quotes { left: true },
    ),
    rule(r"{REDAUX}", Action::Quotes { left: false }),
    rule(r"{SREDAUX}", Action::Quotes { left: false }),
    rule(r"{QUOTES}", Action::Quotes { left: false }),
    rule(r"{FAKEDUCKFEET}", Action::Keep),
    rule(r"{MISCSYMBOL}", Action::Keep),
    rule(r"\0|{SPACES}|[\u200B\u200E-\u200F\uFEFF]", Action::Skip),
    rule(r"{NEWLINE}", Action::Newline),
    rule(r"&nbsp;", Action::Skip),
    rule(r".", Action::Skip),
];
