"""A soak through the HTTP API against moto: submissions while SES is by
turns slow (a timeout, after which it may or may not have sent), refusing,
failing with 503 and fine, with the queue's worker, scheduled runs and
`nlc-api retry` overlapping, the clock moving on. At the end nothing is
lost: each submission reached its team exactly once, or is `failed`; the
only extra copies are those SES sent while the answer was lost, which
docs/forms.md names ("Never lost, never sent twice"); no visitor is acknowledged twice.

Seeded, so a failure can be replayed: NLC_SOAK_SEED=<seed> pytest -m soak."""

from __future__ import annotations

import json
import os
import random
from collections import Counter

import pytest
from conftest import body, stored_submissions, team_copies
from fake_aws import client_error, read_timeout

from chalicelib.submissions import delivery
from nlc_tools import cli

pytestmark = pytest.mark.soak

SUBMISSIONS = 40
TEAM = "nlc@cabinetoffice.gov.uk"
SES_DAYS = ("fine", "fine", "slow", "refusing", "503")


def test_nothing_is_lost_and_the_team_gets_one_copy_or_the_submission_is_failed(
    client, outbox, worker, submissions_clock, fake_aws, capsys
):
    seed = int(os.environ.get("NLC_SOAK_SEED", "20261125"))
    chance = random.Random(seed)
    ses = {"mood": "fine"}
    # Sends SES took although its answer was lost, by reference: team's and visitor's.
    lost_but_sent: Counter[tuple[str, str]] = Counter()
    runs = Counter[str]()

    def moody_ses(call) -> None:
        if call != ("SESv2", "SendEmail"):
            return
        if chance.random() < 0.15 and not runs["nested"]:
            # Another retry run starts while this send is under way.
            runs["nested"] += 1
            delivery.retry_pending(ignore_backoff=chance.random() < 0.5)
            runs["nested"] -= 1
            runs["overlapping"] += 1
        mood = ses["mood"]
        if mood == "refusing" and chance.random() < 0.5:
            raise client_error("MessageRejected")
        if mood == "503" and chance.random() < 0.7:
            raise client_error("ServiceUnavailable", "SendEmail", 503)
        if mood == "slow" and chance.random() < 0.6:
            submissions_clock.offset += 20  # past the client's patience
            if chance.random() < 0.5:
                raise read_timeout()
            # SES sends it, and its answer is lost on the way back.
            fake_aws.fail("SendEmail", read_timeout(), times=1, lost_answer=True)
            subject = call.params["Content"]["Simple"]["Subject"]["Data"]
            who = "team" if call.params["Destination"]["ToAddresses"] == [TEAM] else "visitor"
            lost_but_sent[(who, subject.rsplit(" ", 1)[-1])] += 1

    fake_aws.before_call.append(moody_ses)

    references = []
    for number in range(SUBMISSIONS):
        ses["mood"] = chance.choice(SES_DAYS)
        enquiry = {"name": f"Visitor {number}", "email": f"visitor{number}@example.com", "message": "Hello"}
        response = client.http.post(
            "/enquiries", headers={"Content-Type": "application/json"}, body=json.dumps(enquiry)
        )
        assert response.status_code == 202, response.body
        references.append(body(response)["reference"])
        submissions_clock.offset += chance.choice((0, 5, 60, 200, 400))
        step = chance.random()
        if step < 0.6:
            worker()
        elif step < 0.8:
            client.lambda_.invoke("retry_submissions", scheduled(client))
        elif step < 0.9:
            cli.run(["retry", "--stage", "local"])
        runs["steps"] += 1

    # SES mends; the clock runs on until every retry has had its turn.
    ses["mood"] = "fine"
    worker()
    for _ in range(12):
        submissions_clock.offset += 2 * 86400
        delivery.retry_pending()

    stored = stored_submissions()
    assert sorted(stored) == sorted(references), "a submission was lost or made twice"
    statuses = Counter(stored[reference]["status"] for reference in references)
    assert set(statuses) <= {"forwarded", "failed"}
    for reference in references:
        copies = len(team_copies(outbox, reference))
        expected = lost_but_sent[("team", reference)] + (stored[reference]["status"] == "forwarded")
        assert copies == expected, (reference, stored[reference])
        acknowledgements = [
            email for email in outbox if email["to"] != [TEAM] and reference in email["subject"]
        ]
        assert len(acknowledgements) <= 1, reference
    capsys.readouterr()
    print(
        f"soak (seed {seed}): {len(references)} submissions, {statuses['forwarded']} forwarded, "
        f"{statuses['failed']} failed, {sum(v for (who, _), v in lost_but_sent.items() if who == 'team')} "
        f"team copies sent twice after a lost answer, "
        f"{sum(v for (who, _), v in lost_but_sent.items() if who == 'visitor')} acknowledgements whose answer "
        f"was lost (none sent again), {runs['overlapping']} overlapping retry runs"
    )


def scheduled(client) -> dict:
    return client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
    )
