"""The content checks at publish time: a set with one planted defect per
rule and per variant gets exactly those findings, each with its file, line
and rule; the same set mended gets none. Then site.toml's [checks] (levels,
ignore globs, body_h1, served paths), and the findings in every publish
path: the CLI, POST /admin/publish, the bucket indexer and the scheduled
go-live."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import SEED_CONTENT, body

from api.test_publishing import page, table_keys, write
from api.test_publishing_faults import bucket_event, put_source
from chalicelib.content.eleventy.rendering import build_site
from chalicelib.content.eleventy.sources import read_directory
from chalicelib.content.publishing import publish as publishing
from nlc_tools import cli
from nlc_tools.cli import CommandError

SITE_URL = "https://www.example.gov.uk"
LONG_ALT = "A bar chart of " + "leaders who joined the programme in each region, " * 3
LONG_TITLE = "Everything the Centre did for public service leaders in its first year"
LONG_METADESC = "How the Centre works with leaders. " * 5
LONG_SENTENCE = " ".join(["Leaders from health, policing, schools and councils met"] * 4) + "."
SHORT_SENTENCES = "Leaders from health, policing, schools and councils met. " * 4

IMAGES = (
    '<img src="/files/no-alt.png">\n\n'  # 5
    "![IMG_2041.jpg](/files/photo.jpg)\n\n"  # 7
    "![Image of the team](/files/team.jpg)\n\n"  # 9
    "![Picture of the building](/files/building.jpg)\n\n"  # 11
    f"![{LONG_ALT}](/files/chart.png)"  # 13
)

# Links that work, in both sets: to a redirect's old path, a static file, an
# id on another page, a page's redirect_from, a prefix redirect, what another
# template builds, and a percent-encoded id, as a browser finds it.
WORKING_LINKS = (
    "[Moved](/old-page/), [the file](/files/plan.png) and [the target](/target/#known-section)\n\n"
    "[Moved before](/older-page/), [archived](/archive/2019/report/) and [our feed](/feed.xml)\n\n"
    "## Aims & means\n\n[Our aims](#aims-%26-means)"
)

SITE_TOML = """\
[checks]
body_h1 = false          # the layouts give each page its h1
mailto = "warning"       # so that the set publishes with every finding listed
long-sentence = "warning"
served = ["/files/*"]
"""

# Pages that are right in both sets: what links point to.
SHARED = {
    "site.toml": SITE_TOML,
    "_redirects": "/old-page /target/\n",
    "netlify.toml": '[[redirects]]\nfrom = "/archive/*"\nto = "/target/"\n',
    "target.md": page(
        "Target", "permalink: /target/\nredirect_from: /older-page/\n", "## Known section\n\nWords."
    ),
    "feed.njk": "---\npermalink: /feed.xml\n---\n<feed></feed>\n",
    # No URL: it needs no title.
    "fragment.md": "---\npermalink: false\n---\n\nA part other pages include.\n",
}

# Each file's planted defects, and the same file mended. Line numbers are
# the file's: its front matter is lines 1 to 3.
PLANTED = {
    "images.md": page("Images", body_text=IMAGES),
    "links.md": page(
        "Links",
        body_text=(
            "To read the report [click here](/target/).\n\n"  # 5
            "Or [Read more.](/target/)\n\n"  # 7
            "[](/target/)"  # 9
        ),
    ),
    "headings.md": page(
        "Headings",
        body_text="# A heading the layout also gives\n\n## Section\n\n#### Too deep\n\nWords.",  # 5, 9
    ),
    "internal.md": page(
        "Internal links",
        body_text=(
            "[Gone](/no-such-page/)\n\n"  # 5
            "[A part](/target/#no-such-id)\n\n"  # 7
            f"[Absolute]({SITE_URL}/missing/)\n\n"  # 9
            "[This page's part](#nowhere) and [elsewhere](https://www.gov.uk/missing/)\n\n"  # 11
            + WORKING_LINKS
        ),
    ),
    "documents.md": page(
        "Documents",
        body_text=(
            "Read the [Annual report](/files/report.pdf).\n\n"  # 5
            "[Our plan](/files/plan.docx) sets out our aims for the next three years. "  # 7
            "A PDF of it is coming."
        ),
    ),
    "mailto.md": page(
        "Email",
        body_text=(
            '<a href="mailto:nlc @example.gov.uk">Email us</a>\n\n'  # 5
            "[Email us](mailto:nlc.example.gov.uk)\n\n"  # 7
            '<a href="mailto:nlc@example.gov.uk;press@example.gov.uk">Email both</a>\n\n'  # 9
            "[Email](mailto:)"  # 11
        ),
    ),
    "tables.md": page(
        "Tables",
        body_text="<table><tr><td>Year</td><td>Leaders</td></tr><tr><td>2019</td><td>100</td></tr></table>",
    ),
    "no-title.md": "---\npermalink: /no-title/\n---\n\nWords.\n",  # 1
    "long-title.md": page(LONG_TITLE),  # 2
    "our-work.md": page("Our work"),
    "team-work.md": page("Our Work"),  # 2: the same title as our-work.md
    "metadesc.md": page("Description", f"metadesc: {LONG_METADESC}\n"),  # 3
    "sentences.md": page("Sentences", body_text=f"Short first.\n{LONG_SENTENCE}"),  # 6
}

MENDED = {
    "images.md": page(
        "Images",
        body_text=(
            '<img src="/files/no-alt.png" alt="">\n\n'
            "![Leaders at the 2019 launch](/files/photo.jpg)\n\n"
            "![The team at work](/files/team.jpg)\n\n"
            "![The building from the street](/files/building.jpg)\n\n"
            "![Leaders by region, 2019 to 2024](/files/chart.png)"
        ),
    ),
    "links.md": page(
        "Links",
        body_text=(
            "Read [the report on the target page](/target/).\n\n"
            '<a href="/target/" aria-label="Read more about the target">Read more</a>\n\n'
            "[![The target page](/files/target.png)](/target/)"
        ),
    ),
    "headings.md": page("Headings", body_text="## A heading\n\n## Section\n\n### Not too deep\n\nWords."),
    "internal.md": page(
        "Internal links",
        body_text=(
            "[The target](/target/)\n\n"
            "[A part](/target/#known-section)\n\n"
            f"[Absolute]({SITE_URL}/target/index.html)\n\n"
            "## A heading\n\n[That heading](#a-heading) and [elsewhere](https://www.gov.uk/missing/)\n\n"
            + WORKING_LINKS
        ),
    ),
    "documents.md": page(
        "Documents",
        body_text=(
            "Read the [Annual report](/files/report.pdf) (PDF, 1.2 MB, 52 pages).\n\n"
            "[Our plan](/files/plan.docx) (Word, 40 KB) sets out our aims for the next three years."
        ),
    ),
    "mailto.md": page(
        "Email",
        body_text=(
            '<a href="mailto:nlc@example.gov.uk">Email us</a>\n\n'
            "[Email us](mailto:nlc@example.gov.uk?subject=Hello)\n\n"
            '<a href="mailto:nlc@example.gov.uk,press@example.gov.uk">Email both</a>\n\n'
            "[Email](mailto:?to=nlc@example.gov.uk)"
        ),
    ),
    "tables.md": page(
        "Tables",
        body_text="<table><tr><th>Year</th><th>Leaders</th></tr><tr><td>2019</td><td>100</td></tr></table>",
    ),
    "no-title.md": page("No longer untitled", "permalink: /no-title/\n"),
    "long-title.md": page("The Centre's first year"),
    "our-work.md": page("Our work"),
    "team-work.md": page("Working as a team"),
    "metadesc.md": page("Description", "metadesc: How the Centre works with leaders.\n"),
    "sentences.md": page("Sentences", body_text=f"Short first.\n{SHORT_SENTENCES}"),
}

EXPECTED = [
    ("documents.md", 5, "document-link"),
    ("documents.md", 7, "document-link"),  # a type, but not right after the link
    ("headings.md", 5, "heading-order"),  # an h1 where the layout gives it
    ("headings.md", 9, "heading-order"),  # h4 after h2
    ("images.md", 5, "image-alt"),  # no alt
    ("images.md", 7, "image-alt"),  # a file name
    ("images.md", 9, "image-alt"),  # "Image of"
    ("images.md", 11, "image-alt"),  # "Picture of"
    ("images.md", 13, "image-alt"),  # over 125 characters
    ("internal.md", 5, "internal-link"),  # nothing there
    ("internal.md", 7, "internal-link"),  # no such id on the target
    ("internal.md", 9, "internal-link"),  # absolute, on the site, nothing there
    ("internal.md", 11, "internal-link"),  # no such id on this page
    ("links.md", 5, "link-text"),  # "click here"
    ("links.md", 7, "link-text"),  # "Read more."
    ("links.md", 9, "link-text"),  # empty
    ("long-title.md", 2, "title"),
    ("mailto.md", 5, "mailto"),  # a space
    ("mailto.md", 7, "mailto"),  # no @
    ("mailto.md", 9, "mailto"),  # two addresses without a comma
    ("mailto.md", 11, "mailto"),  # no address at all
    ("metadesc.md", 3, "metadesc"),
    ("no-title.md", 1, "title"),
    ("sentences.md", 6, "long-sentence"),
    ("tables.md", 5, "table-header"),
    ("team-work.md", 2, "title"),  # the same title as our-work.md
]


@pytest.fixture(autouse=True)
def site_url(stage_settings):
    stage_settings(NLC_SITE_URL=SITE_URL)


def dry_run(folder: Path) -> tuple[list[str], publishing.Summary]:
    """`nlc-api publish --dry-run` when the stage is out of reach: no AWS call."""
    lines: list[str] = []
    summary = publishing.publish_directory(folder, dry_run=True, compare=False, report=lines.append)
    return lines, summary


def found(summary: publishing.Summary) -> list[tuple[str, int | None, str]]:
    return [(finding.file, finding.line, finding.rule) for finding in summary.findings]


def test_each_planted_defect_is_found_once_with_its_file_line_and_rule(tmp_path):
    lines, summary = dry_run(write(tmp_path, {**SHARED, **PLANTED}))

    assert found(summary) == EXPECTED
    # Each is printed with what to do, and counted by rule after the summary.
    for finding in summary.findings:
        assert f"warning: {finding.file}:{finding.line}: {finding.message} [{finding.rule}]" in lines
    assert lines[-1].endswith(
        "26 content check finding(s): 2 document-link, 2 heading-order, 5 image-alt, 4 internal-link, "
        "3 link-text, 1 long-sentence, 4 mailto, 1 metadesc, 1 table-header, 3 title."
    )


def test_the_set_with_each_defect_mended_has_no_finding(tmp_path):
    lines, summary = dry_run(write(tmp_path, {**SHARED, **MENDED}))

    assert found(summary) == []
    # The feed's template is skipped, as it is not a page: the one warning.
    assert [line for line in lines if line.startswith("warning")] == [
        "warning: feed.njk: skipped: its permalink /feed.xml is not an HTML page [permalink]"
    ]
    assert "content check" not in lines[-1]


def test_a_finding_says_what_to_do(tmp_path):
    _, summary = dry_run(write(tmp_path, {**SHARED, **PLANTED}))
    messages = {(finding.file, finding.line): finding.message for finding in summary.findings}

    assert messages["images.md", 5] == 'Add alt text describing the image, or alt="" if it is decorative'
    assert messages["links.md", 5].startswith("Say where the link goes: ")
    assert messages["headings.md", 9].startswith("An h4 after an h2 skips a level: make it an h3")
    assert messages["internal.md", 5].startswith("Nothing on the site is at /no-such-page/: correct the link")
    assert messages["documents.md", 5].startswith("Say the file type in or right after the link")
    assert messages["team-work.md", 2] == "Give the page a title of its own: our-work.md has the same one"


def test_the_repositorys_content_has_no_accessibility_finding():
    """The seed page and post are right: the document link gives its type
    inside the link, and the pages it links to that this folder does not
    hold are listed as served in its site.toml."""
    lines, summary = dry_run(SEED_CONTENT)

    assert summary.findings == []
    assert not any(line.startswith("warning") for line in lines)


def test_checks_never_change_what_is_rendered(tmp_path):
    """The same pages with every check on and with every check off."""
    sources = read_directory(write(tmp_path, {**SHARED, **PLANTED}))
    checked = build_site(sources, SITE_URL)
    every_rule_off = "[checks]\n" + "".join(f'{rule} = "off"\n' for rule in {rule for _, _, rule in EXPECTED})
    unchecked = build_site({**sources, "site.toml": every_rule_off.encode()}, SITE_URL)

    assert checked.findings and not unchecked.findings
    assert [page.fields for page in checked.pages] == [page.fields for page in unchecked.pages]


# site.toml's [checks] ---------------------------------------------------------


def test_a_rule_made_an_error_refuses_the_set_naming_the_finding(publish, tmp_path):
    files = {
        "site.toml": '[checks]\nimage-alt = "error"\n',
        "about.md": page("About", body_text='<img src="/photo.jpg">'),
    }

    with pytest.raises(CommandError) as refused:
        publish(write(tmp_path, files))

    assert (
        'error: about.md:5: Add alt text describing the image, or alt="" if it is decorative [image-alt]'
        in refused.value.output
    )
    assert "1 problem(s) in the content; nothing was published" in str(refused.value)
    assert table_keys() == set()


def test_a_broken_mailto_link_refuses_the_set_unless_the_site_makes_it_a_warning(publish, tmp_path):
    files = {"contact.md": page("Contact", body_text="[Email us](mailto:nlc.example.gov.uk)")}

    with pytest.raises(CommandError) as refused:
        publish(write(tmp_path, files))
    assert "error: contact.md:5: " in refused.value.output
    assert refused.value.output.rstrip().endswith("[mailto]")

    write(tmp_path, {"site.toml": '[checks]\nmailto = "warning"\n'})
    assert "1 content check finding(s): 1 mailto." in publish(tmp_path)


def test_off_silences_a_rule(tmp_path):
    files = {**SHARED, **PLANTED, "site.toml": SITE_TOML + 'image-alt = "off"\ntitle = "off"\n'}

    _, summary = dry_run(write(tmp_path, files))

    expected = [finding for finding in EXPECTED if finding[2] not in ("image-alt", "title")]
    assert found(summary) == expected


def test_ignore_globs_skip_files_for_one_rule_or_for_all(tmp_path):
    toml = (
        SITE_TOML.replace("[checks]\n", '[checks]\nignore = ["links.md", "no-*.md"]\n')
        + 'image-alt = { severity = "warning", ignore = ["images.md", "team/*.md"] }\n'
        + 'internal-link = { ignore = ["*.md"] }\n'
    )
    files = {**SHARED, **PLANTED, "pages/team/photos.md": page("Photos", body_text=IMAGES), "site.toml": toml}

    _, summary = dry_run(write(tmp_path, files))

    skipped = {"links.md", "no-title.md"}
    expected = [
        finding
        for finding in EXPECTED
        if finding[0] not in skipped and finding[2] not in ("image-alt", "internal-link")
    ]
    # A glob matches from the content root or from any folder in it:
    # team/*.md matches pages/team/photos.md.
    assert found(summary) == expected


def test_body_h1_true_lets_a_body_carry_its_h1(tmp_path):
    files = {**SHARED, **PLANTED, "site.toml": SITE_TOML.replace("body_h1 = false", "body_h1 = true")}

    _, summary = dry_run(write(tmp_path, files))

    assert ("headings.md", 5, "heading-order") not in found(summary)
    assert ("headings.md", 9, "heading-order") in found(summary)


def test_a_finding_in_a_template_the_source_cannot_place_is_on_the_front_matters_first_line(tmp_path):
    files = {"team.njk": page("Team", "photo: /photo.jpg\n", '<img src="{{ photo }}">')}

    _, summary = dry_run(write(tmp_path, files))

    assert found(summary) == [("team.njk", 1, "image-alt")]


# Every publish path -------------------------------------------------------------


def test_post_admin_publish_reports_the_findings(client, seeded):
    put_source("pages/about.md", page("About", body_text="[click here](/what-we-do/)"))

    response = client.http.post("/admin/publish")

    assert response.status_code == 200
    assert body(response)["findings"] == [
        {
            "file": "pages/about.md",
            "line": 5,
            "rule": "link-text",
            "severity": "warning",
            "message": 'Say where the link goes: text like "click here" or "read more" means nothing '
            "out of context",
        },
    ]


def test_post_admin_publish_refuses_a_rule_made_an_error_naming_the_finding(client, seeded):
    put_source("site.toml", '[checks]\nlink-text = "error"\n')
    put_source("pages/about.md", page("About", body_text="[click here](/what-we-do/)"))

    response = client.http.post("/admin/publish")

    assert response.status_code == 422
    (problem,) = body(response)["error"]["problems"]
    assert problem.startswith("pages/about.md:5: Say where the link goes: ")
    assert client.http.get("/content?path=/pages/about/").status_code == 404


def test_the_indexer_logs_each_findings_file_and_rule_never_its_text_and_counts_them(client, seeded, capsys):
    put_source("pages/about.md", page("About", body_text="[click here](/what-we-do/)"))
    capsys.readouterr()

    bucket_event(client, "pages/about.md")

    out = capsys.readouterr().out
    records = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    (logged,) = [record for record in records if record.get("event") == "findings"]
    assert logged["findings"] == [{"file": "pages/about.md", "line": 5, "rule": "link-text"}]
    assert "click here" not in json.dumps(records)
    (metric,) = [record for record in records if "ContentWarnings" in record]
    assert metric["ContentWarnings"] == 1 and metric["Stage"] == "local"
    assert metric["_aws"]["CloudWatchMetrics"][0]["Metrics"] == [{"Name": "ContentWarnings", "Unit": "Count"}]
    assert body(client.http.get("/content?path=/pages/about/"))["title"] == "About"


def test_the_scheduled_go_live_checks_too(client, seeded, capsys):
    put_source("pages/about.md", page("About", body_text="[click here](/what-we-do/)"))
    lines: list[str] = []

    publishing.publish_scheduled(report=lines.append)

    assert any(line.startswith("warning: pages/about.md:5: ") for line in lines)
    assert any(line.endswith(" 1 content check finding(s): 1 link-text.") for line in lines)
    assert '"ContentWarnings":1' in capsys.readouterr().out


def test_nlc_api_check_lists_the_findings_in_every_format(tmp_path, capsys):
    folder = write(tmp_path, {"about.md": page("About", body_text='<img src="/photo.jpg">')})

    assert cli.main(["check", "--content", str(folder), "--format", "json"]) == 0
    (problem,) = json.loads(capsys.readouterr().out)["problems"]
    assert problem == {
        "file": "about.md",
        "line": 5,
        "rule": "image-alt",
        "severity": "warning",
        "message": 'Add alt text describing the image, or alt="" if it is decorative',
    }
    assert cli.main(["check", "--content", str(folder), "--format", "github"]) == 0
    assert capsys.readouterr().out.startswith("::warning file=about.md,line=5,title=image-alt::Add alt text")
    assert cli.main(["check", "--content", str(folder), "--strict"]) == 1
    assert "warning: about.md:5: Add alt text" in capsys.readouterr().out


def test_a_dry_run_compared_with_the_stage_lists_the_findings(publish, tmp_path):
    files = {"about.md": page("About", body_text="[click here](/about/)")}

    output = publish(write(tmp_path, files), "--dry-run")

    assert 'warning: about.md:5: Say where the link goes: text like "click here"' in output
    assert "Would publish: 1 created" in output and "1 content check finding(s): 1 link-text." in output
