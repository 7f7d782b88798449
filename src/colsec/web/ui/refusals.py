"""What a service's refusal says, in the reader's language: one catalogue, by the refusal's kind.

A service raises ``ColsecError(message, kind=..., params=...)``: the English ``message`` serves
the API and the logs, the stable ``kind`` names a sentence here, and ``params`` fill its
``%(name)s`` places.  The domains never import the web layer, so the sentences live here, beside
the document problems of ``forms.explain_document`` that are worded the same way; a kind missing
here keeps the node's own English sentence (the error page shows it as data).
``tests/ui/test_refusals.py`` holds every kind the sources raise against this catalogue.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from markupsafe import Markup, escape

from colsec.web.i18n import N_, format_when

__all__ = ["REFUSALS", "explain_refusal", "phrase"]

# kind -> the sentence (English msgid); a placeholder per param of the raise sites
REFUSALS: dict[str, str] = {
    # accounts and the node
    "accounts_admin_only": N_("Only administrators manage accounts."),
    "audit_needs_organisation": N_("An administrator without an organisation has no audit log to read."),
    "current_password_wrong": N_("The current password is wrong."),
    "email_invalid": N_("“%(email)s” is not an e-mail address."),
    "email_invalid_domain": N_("“%(email)s” is not an e-mail address: the domain is not valid."),
    "email_invalid_local": N_("“%(email)s” is not an e-mail address: the part before @ is not valid."),
    "email_owner_only": N_("Only the user or an administrator of their organisation may change this address."),
    "email_too_long": N_("An e-mail address holds at most %(limit)s characters."),
    "operator_needs_admin": N_("Only an administrator account can be a node operator."),
    "operator_only": N_("Only the node operator may do this."),
    "organisation_exists": N_("The organisation “%(org)s” already exists."),
    "organisation_kind_unknown": N_("Choose the kind of organisation from the list."),
    "organisation_name_empty": N_("The organisation needs a name."),
    "own_password_via_profile": N_("Your own password is changed with your current one, not here."),
    "password_too_short": N_("A password has at least 8 characters."),
    "role_unknown": N_("Choose a role from the list."),
    "short_name_invalid": N_("The short name “%(name)s” is not valid: use letters, digits, “-” and “_” only."),
    "token_expiry_range": N_("A token expires after 1 to 3650 days."),
    "token_name_length": N_("A token name has 1 to 100 characters."),
    "unknown_language": N_("Choose English or Russian as the language."),
    "unknown_organisation": N_("Unknown organisation “%(org)s”."),
    "unknown_user": N_("There is no active user “%(user)s”."),
    "organisation_not_found": N_("The organisation “%(org)s” was not found."),
    "user_not_found": N_("The user “%(user)s” was not found."),
    "token_not_found": N_("Token %(token)s was not found."),
    "user_exists": N_("The user “%(user)s” already exists."),
    "username_invalid": N_("The user name “%(user)s” is not valid."),
    "filter_unknown": N_("This list has no filter “%(value)s”; choose one of the filters on the page."),
    "job_not_found": N_("Job %(job)s was not found."),
    "form_expired": N_("The form has expired or did not come from this site; reload the page and try again."),
    "page_not_for_role": N_("Your role may not open this page."),
    # sharing groups
    "name_the_organisation": N_("Name the organisation (its short name)."),
    "sharing_group_exists": N_("The sharing group “%(name)s” already exists."),
    "sharing_group_name_length": N_("A sharing group name has 1 to 120 characters."),
    "sharing_group_not_found": N_("The sharing group “%(name)s” was not found."),
    "sharing_group_not_member": N_("%(org)s is not a member of the sharing group “%(name)s”."),
    "sharing_group_owner_only": N_(
        "Only the owner organisation of the sharing group “%(name)s” may change its members."
    ),
    "sharing_group_owner_operator_only": N_(
        "Only the node operator may create a sharing group for another organisation."
    ),
    # imports
    "input_binary": N_("The file is binary data, not STIX, MISP, CSV or text."),
    "input_empty": N_("The input is empty: choose a file or paste some text."),
    "input_not_utf8": N_("The input is neither UTF-8 text nor JSON."),
    "input_xml": N_(
        "This is an XML document (a CAP alert, a feed or a web page?), which this import does not read: "
        "a CAP alert goes in through the crisis page's CAP upload; this import takes STIX, MISP, CSV "
        "and plain-text lists of indicators."
    ),
    "json_not_stix_or_misp": N_("The JSON is neither a STIX bundle nor a MISP event."),
    "misp_event_no_uuid": N_("The MISP event has no valid uuid."),
    "text_utf16": N_("The text is in UTF-16: save it as UTF-8 and try again."),
    "import_nothing_chosen": N_("Choose a file or paste some text to import."),
    "review_candidate_malformed": N_("The review form holds a damaged entry; start the import again."),
    "review_nothing_accepted": N_("No candidate was accepted; there is nothing to import."),
    "text_not_utf8": N_("The text must be in UTF-8."),
    "unknown_format": N_("Unknown format “%(format)s”."),
    "unknown_tlp": N_("Unknown TLP marking “%(tlp)s”: choose CLEAR, GREEN, AMBER, AMBER+STRICT or RED."),
    # alerts and assets
    "alert_not_found": N_("Alert %(alert)s was not found."),
    "alert_step_not_now": N_("The alert cannot take this step in its current state."),
    "alerts_need_organisation": N_("Alerts belong to organisations; your account has none."),
    "alerts_read_only": N_("Your role may read alerts but not act on them."),
    "asset_exists": N_("An asset named “%(name)s” already exists for this organisation."),
    "asset_needs_organisation": N_("The node itself owns no assets: name the organisation."),
    "asset_not_found": N_("Asset %(asset)s was not found."),
    "asset_other_org_operator_only": N_("Only the node operator may register assets for another organisation."),
    "asset_owner_only": N_("Only the organisation that owns the asset may change it."),
    "asset_values_invalid": N_("These values are not valid: %(values)s."),
    "assignee_unknown": N_("There is no active user “%(user)s” in your organisation."),
    "changed_meanwhile": N_("Someone else has changed this in the meantime; reload the page."),
    "close_needs_reason": N_("Say why the alert is closed."),
    "reason_too_long": N_("The reason holds at most %(limit)s characters."),
    # crisis response
    "already_delegated": N_("Your organisation has already delegated its answer in this consultation."),
    "alert_level_range": N_("The alert level is from 1 to 5."),
    "answer_delegated": N_("Your organisation's answer has been delegated to another user."),
    "cap_dtd_refused": N_("The CAP document declares a DTD or entities, which are not accepted."),
    "cap_not_alert": N_(
        "This is not a CAP 1.0, 1.1 or 1.2 alert: its root element must be %(element)s in a CAP namespace."
    ),
    "cap_not_xml": N_("The CAP document is not well-formed XML (%(error)s)."),
    "cap_schema": N_("The CAP document does not meet the CAP %(version)s schema (%(error)s)."),
    "cap_alert_not_found": N_("CAP alert %(alert)s was not found."),
    "cap_alert_stored": N_("This CAP alert (%(alert)s) is already stored."),
    "cap_status": N_("The status of a CAP alert is one of %(allowed)s."),
    "capability_mismatch": N_("The resource's capability is not the one the request asks for."),
    "choose_cap_file": N_("Choose a CAP alert or feed file to import."),
    "consultation_already_answered": N_("This organisation has already answered this consultation."),
    "consultation_closed": N_("The consultation is closed or its deadline has passed: the answer was not recorded."),
    "consultation_needs_members": N_("A consultation needs at least one eligible member organisation."),
    "consultation_not_found": N_("Consultation %(consultation)s was not found."),
    "crisis_needs_escalated_incidents": N_(
        "A crisis is opened only from escalated incidents that are not already part of a crisis."
    ),
    "crisis_no_new_requests": N_("The crisis is closed: it takes no new requests."),
    "crisis_not_found": N_("Crisis %(crisis)s was not found."),
    "crisis_not_running": N_("The crisis is closed: this is no longer possible."),
    "crisis_role_held": N_("%(user)s already holds this role on the crisis."),
    "crisis_role_not_held": N_("“%(user)s” does not hold this role on the crisis."),
    "delegate_role": N_("Delegate to another representative or analyst."),
    "incident_needs_organisation": N_("Incidents are reported by a member organisation."),
    "incident_not_found": N_("Incident %(incident)s was not found."),
    "incidents_not_found": N_("Incidents not found: %(incidents)s."),
    "lead_not_coordinator": N_("“%(user)s” is not a crisis coordinator and cannot lead the crisis."),
    "lead_not_removed": N_("The lead is handed over, not removed: assign another lead."),
    "lessons_after_closure": N_("Lessons are recorded once the crisis is closed."),
    "liaison_role": N_("A liaison is an analyst or a representative of a member organisation."),
    "needed_by_not_future": N_(
        "“Needed by” (%(needed_by)s) is not in the future: give the time by which the help is still needed."
    ),
    "next_report_not_future": N_("The next report must be due in the future."),
    "no_delegation_held": N_("You hold no delegation for that organisation."),
    "not_member_organisations": N_("These are not member organisations: %(orgs)s."),
    "not_stix_ids": N_("These are not STIX identifiers: %(ids)s."),
    "offer_needs_approved_request": N_("Offers are made only against approved requests."),
    "offer_not_found": N_("Offer %(offer)s was not found."),
    "org_not_eligible": N_("The organisation is not eligible to answer this consultation."),
    "quantity_exceeds_size": N_("The quantity (%(quantity)s) exceeds the size of the resource (%(size)s)."),
    "recommendation_needs_owner": N_("A recommendation needs an owner."),
    "request_needs_organisation": N_("Requests for assistance come from a member organisation."),
    "request_not_found": N_("Request %(request)s was not found."),
    "resource_needs_organisation": N_("Resources are registered by member organisations."),
    "resource_not_found": N_("Resource %(resource)s was not found."),
    "resource_owner_only": N_("Only the organisation that owns the resource may offer it."),
    "review_needs_lesson": N_("Record at least one lesson before marking the crisis reviewed."),
    "search_needs_word": N_("Enter at least one word to search for."),
    "unknown_crisis_role": N_("Choose a role on the crisis from the list."),
    "unknown_step": N_("This step is not known here; reload the page and try again."),
    # working groups
    "action_owner_not_member": N_("%(org)s is not a member of %(group)s: only members own action items."),
    "action_owner_only": N_("Only the owner organisation moves its action item."),
    "action_step_not_now": N_("The action item cannot take this step in its current state."),
    "agenda_item_not_in_group": N_("Agenda item %(item)s is not in %(group)s."),
    "answer_needs_organisation": N_("Answers are given on behalf of an organisation; your account has none."),
    "answer_own_organisation_only": N_("You answer only for your own organisation."),
    "chair_only": N_("Only the chair of %(group)s may do this."),
    "choose_file": N_("Choose a file to upload."),
    "choose_stance": N_("Choose agree, object or abstain."),
    "comment_empty": N_("A comment needs text."),
    "comment_too_long": N_("A comment holds at most %(limit)s characters; this one has %(length)s."),
    "deadline_not_future": N_("The deadline must be in the future."),
    "decision_not_in_group": N_("Decision %(decision)s is not in %(group)s."),
    "decision_number_busy": N_("No decision number could be allocated; please try again."),
    "delegation_ends_before_start": N_("The delegation must end after it starts."),
    "delegation_representative_only": N_("Only your organisation's representative in the group may delegate."),
    "deputy_without_delegation": N_("A deputy answers only while a delegation from the representative is in force."),
    "group_code_taken": N_("A group with the code “%(code)s” already exists."),
    "group_has_representative": N_("%(user)s already represents %(org)s in %(group)s: remove them first."),
    "group_no_voting_members": N_("%(group)s has no voting members."),
    "group_not_found": N_("Working group %(group)s was not found."),
    "invitations_after_held": N_("Invitations go out only before the meeting is held."),
    "lesson_already_action": N_("Lesson %(lesson)s is already action item #%(action)s."),
    "lesson_crisis_not_closed": N_("Only lessons of closed crises become action items."),
    "meeting_held_before_start": N_(
        "The meeting starts at %(starts_at)s: it cannot be recorded as held before then."
    ),
    "meeting_no_quorum": N_("The meeting had no quorum: it cannot take decisions."),
    "meeting_not_found": N_("Meeting %(meeting)s was not found."),
    "procedure_not_found": N_("Written procedure %(procedure)s was not found."),
    "meeting_not_future": N_("The meeting must start in the future."),
    "meeting_start_out_of_range": N_("The meeting's start lies beyond the dates this node keeps."),
    "meeting_not_held": N_("The meeting has not been held yet."),
    "meeting_not_in_group": N_("Meeting %(meeting)s is not in %(group)s."),
    "meeting_step_not_now": N_("The meeting cannot take this step in its current state."),
    "minutes_comments_closed": N_("Comments on these minutes closed at %(until)s."),
    "minutes_not_approved": N_("The minutes of this meeting are not approved yet."),
    "minutes_not_open": N_("The minutes are not open for comments."),
    "minutes_present_only": N_("Only organisations present at the meeting comment on its minutes."),
    "minutes_secretary_only": N_("Only the secretary of %(group)s drafts the minutes."),
    "not_a_deputy": N_("“%(user)s” is not a deputy of your organisation in %(group)s."),
    "not_voting_at_opening": N_("Your organisation was not a voting member when this procedure opened."),
    "observers_do_not_vote": N_("Observers in %(group)s do not vote."),
    "officer_only": N_("Only the chair or the secretary of %(group)s may do this."),
    "organisation_already_in_group": N_("%(org)s is already in %(group)s."),
    "organisation_has_representative": N_("%(org)s already has a representative in %(group)s."),
    "organisation_not_in_group": N_("%(org)s is not in %(group)s."),
    "paper_binary_text": N_("“%(file)s” is a text file with binary content."),
    "paper_content_mismatch": N_("The content of “%(file)s” is not a .%(ext)s file."),
    "paper_empty": N_("“%(file)s” is empty."),
    "paper_members_only": N_("Only members of %(group)s table papers."),
    "paper_not_utf8": N_("“%(file)s” is not text in UTF-8."),
    "paper_recipients_not_red": N_("Recipients are named only for TLP:RED papers."),
    "paper_red_recipients": N_("A TLP:RED paper names the organisations that may read it (recipients)."),
    "paper_title": N_("A paper needs a title of at most 300 characters."),
    "paper_too_large": N_("“%(file)s” is larger than the limit for papers, %(limit)s bytes."),
    "paper_type": N_("“%(file)s”: papers are files of these types: %(types)s."),
    "paper_version_author_only": N_("Only the author, the chair or the secretary adds versions of a paper."),
    "papers_not_in_group": N_("These papers are not in this group: %(papers)s."),
    "person_already_in_group": N_("%(user)s is already in %(group)s."),
    "removal_not_confirmed": N_("Tick “I confirm” to remove: nothing was removed."),
    "person_not_in_group": N_("“%(user)s” is neither a representative nor a deputy in %(group)s."),
    "procedure_already_answered": N_("Your organisation has already answered this procedure."),
    "procedure_closed": N_("The procedure is closed or its deadline has passed: the answer was not recorded."),
    "quorum_exceeds_members": N_(
        "The quorum (%(quorum)s) is larger than the number of members who may answer (%(members)s)."
    ),
    "representative_answers": N_(
        "Only your organisation's representative in %(group)s (or a deputy with a delegation) answers."
    ),
    "term_ends_before_start": N_("The term must end after it starts."),
    "time_out_of_range": N_("This date and time is out of range."),
    "unknown_option": N_("Unknown option “%(option)s”; choose one of: %(options)s."),
    "unknown_parent_group": N_("Parent group %(group)s does not exist."),
    "unknown_time_zone": N_("Unknown time zone “%(tz)s”: give a name such as %(example)s."),
    "user_not_of_organisation": N_("User “%(user)s” does not belong to that organisation."),
    "user_read_only": N_("User “%(user)s” has a read-only account and cannot hold an office in the group."),
    "your_org_not_member": N_("Your organisation is not a member of %(group)s."),
    # exercises
    "choose_scenario_speed": N_("Choose a scenario, and give the speed as a number (1 = real time)."),
    "deliver_while_running": N_("Injects are delivered only while the run is in progress."),
    "exercises_centre_only": N_("Only the crisis centre manages exercises."),
    "expectation_needs_organisation": N_("Expectation %(expectation)s: name the organisation expected to act."),
    "expectation_not_found": N_("Expectation %(expectation)s was not found in this run."),
    "inject_delivered": N_("Inject %(inject)s has already been delivered."),
    "inject_exists": N_("Inject %(inject)s already exists in this run."),
    "inject_not_found": N_("Inject %(inject)s was not found in this run."),
    "inject_not_pending": N_("Inject %(inject)s is no longer waiting to be delivered."),
    "inject_unknown_user": N_("Inject %(inject)s names an unknown user “%(user)s”."),
    "note_empty": N_("A note needs text."),
    "note_kind": N_("Choose the kind of note from the list."),
    "override_needs_reason": N_("An override needs a reason."),
    "override_status": N_("Choose a result from the list (or none, to clear the override)."),
    "pdf_unavailable": N_("This node cannot produce PDF; the report is available as a web page."),
    "run_no_new_injects": N_("This run takes no new injects in its current state."),
    "run_not_found": N_("Exercise run %(run)s was not found."),
    "run_step_not_now": N_("The exercise run cannot take this step in its current state."),
    "scenario_name_taken": N_("A scenario named “%(name)s” already exists."),
    "scenario_not_found": N_("Scenario %(scenario)s was not found."),
    "scenario_unknown_organisations": N_("The scenario names organisations this node does not know: %(orgs)s."),
    "speed_not_number": N_("The speed must be a number."),
    "speed_range": N_("The speed is between 0.01 and 3600."),
    # bulletins
    "advisory_link_incomplete": N_("Link %(link)s: the member, a web address and a language are required."),
    "approver_is_author": N_("The author of a bulletin cannot approve it."),
    "bulletin_editors_only": N_("Only analysts, coordinators and administrators prepare bulletins."),
    "bulletin_not_approved": N_("Only an approved bulletin is published."),
    "bulletin_not_draft": N_("Only a draft is edited; publish a correction instead."),
    "bulletin_not_found": N_("Bulletin %(bulletin)s was not found."),
    "bulletin_not_in_review": N_("Only a bulletin in review is approved."),
    "bulletin_not_published": N_("Only a published bulletin is corrected."),
    "commentary_too_long": N_("The commentary holds at most %(limit)s characters."),
    "links_only_advisory": N_("Only a joint advisory lists national advisory links."),
    "subscription_editors_only": N_("Only analysts, coordinators and administrators manage subscriptions."),
    "subscription_needs_organisation": N_("A subscription belongs to an organisation; your account has none."),
}  # fmt: skip


def _value(value: Any, lang: str) -> Any:
    """A param as the sentence shows it: a moment in the reader's format, a number as it is, and
    anything else (a name, an id quoted from the input) as data, never as words to translate."""
    if isinstance(value, date):
        return format_when(value, lang)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return Markup('<span translate="no">{}</span>').format(value)


def phrase(wording: str, params: Mapping[str, Any], gettext: Callable[[str], str], lang: str) -> Markup:
    """``wording`` in the reader's language with ``params`` filled in, escaped (the sentence is the
    catalogue's, the values are data); a translation that lost a placeholder raises KeyError."""
    return Markup(escape(gettext(wording))) % {k: _value(v, lang) for k, v in params.items()}


def explain_refusal(
    kind: str | None, params: Mapping[str, Any], gettext: Callable[[str], str], lang: str
) -> Markup | None:
    """The refusal's sentence in the reader's language, or None for a kind with no sentence here
    (the page then keeps the node's English message)."""
    wording = REFUSALS.get(kind or "")
    if wording is None:
        return None
    try:
        return phrase(wording, params, gettext, lang)
    except (KeyError, TypeError, ValueError):
        return None
