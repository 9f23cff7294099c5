"""The offline drafter: an extractive answerer over whole answer units.

It scores every unit of the retrieved articles (``pipeline.units``) against the question — how much
of the question's idf weight the unit holds (the newest message counts fully, the turn before it
half, so a follow-up such as "and on Pro?" keeps its topic), the words of its headings at half
credit, the retriever's rank of its article, whether the retrieved chunk holds it — and builds the
reply around the best one:

- a sentence: it and the sentences that follow it in its paragraph (a pronoun early in it brings
  the sentence before), up to a word budget, and a list the paragraph introduces with a colon;
- a procedure: whole, in its own numbering, with its lead-in sentence;
- a table row: the header and the matching rows (a measurement the message gives, "12 °dH", finds
  the row whose range holds it), and the matching cell stated in a sentence when the question
  names a column;
- a bullet list: whole, with a short note that follows it (a long one: its matching items);
- a passage of plain prose (no headings, only paragraphs: a web page's text): its sentences that
  hold the question, the best first and the others in their order, within a budget.
A second article is added only when its best unit is nearly as good and answers a part of the
question the first does not; each question of a message gets its answer. An answer that sends
the reader to another source ("See *Your privacy rights*", "Follow the steps in *Error E4*")
brings that source's part, and the case an article sends to its procedure ("… add it again using
the steps above") comes before it. Nothing is cut: every piece is a whole unit of its article.

What the question names decides between units: a term counts as held through its aliases (a
synonym, "website" as "web"; a country as the region a table row lists, "Germany" as "European
Union"), a customer's phrase is read in the article's word ("go back down to Plus": downgrade),
what it rules out ("(not the app store)", "rather than downloading a zip", "not at the front")
counts against a unit and the section it heads, a phone named by its maker finds its platform's
steps ("Pixel": Android), a quantity asked finds the word that names it ("how heavy": weight,
"how much does it hold": capacity), a "how long" question prefers a
unit that states a time, and an article's opening sentence gives way to a unit under a heading
that holds more of the question (a signpost, "This article explains …", or a pointer, "For more
information, see …", is never the answer). A problem whose causes are short sections gets the best
cause first, then the others of that problem, within a budget; what the customer says they have
already tried ("I've done the priming thing … anything else to try?") is neither the answer nor
a cause to offer again, and a procedure whose stated condition is the opposite of the question's
("Use this when the machine is online" for "the app shows it as offline") gives way. Two table
rows asked in one sentence ("what pump pressure …, and how many watts?") are both quoted.
"Is it covered?" asked of an article that lists both sides ("What's covered" / "What's not
covered") gets both, and a message that says how long ago something happened ("about 18 months
after it was delivered … is that covered?") weighs the units that state a time limit. A procedure
comes with its article's "Before you …" / "What you need" section, and a comparison ("is it any
cheaper if I pay for the whole year?") quotes the table rows it compares.

A message's questions are found inside one sentence (", and will I lose …?") and without a
question mark ("… - will oat milk foam?"); a table question naming two rows in two clauses ("how
many machines and how many schedules", "(a) … (b) …") gets both, each stated; a question that no
unit answers by its words gets the unit of the answer's article closest to it in meaning. The
note ending a short section comes with the list above it, a sentence that denies what the
customer believed ("Deleting the app … does not cancel your subscription") opens the reply, and
"I've tried everything", or "What next?" after what was tried, weighs the article's last resort
("Still seeing E4?"). Asked how to fix an error whose page lists numbered causes, the reply gives
each other cause's fix after the best one, in order; a quoted passage that names what to do ("…
make a privacy request") brings its article's "How to make a privacy request".
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache, partial
from itertools import pairwise
from math import fsum

from autocrm.pipeline.articles import SourceArticle, Sources, normalise
from autocrm.pipeline.query import AMOUNT, QUANTITIES, REFUND
from autocrm.pipeline.text import terms as _all_terms
from autocrm.pipeline.towns import in_great_britain
from autocrm.pipeline.units import Block, Unit, intro, plain, probe_text, sentences, table_cells

# Weights of the unit score; chosen on the dev parts of the eval sets (see README, Replies).
RANK_PRIOR = (0.3, 0.15, 0.1, 0.075, 0.06)
IN_CHUNK_BONUS = 0.1
STEPS_BONUS = 0.3  # a procedure for a "how do I" question
CONTRAST_BONUS = 0.3  # … the one whose heading the question names, among the article's procedures
DIRECTION_BONUS = 0.3  # a "from A to B" heading whose A and B the question names in that order
KIND_PREFERENCE = 0.8
OTHER_PROCEDURE_RATIO = 0.7  # another article's procedure for "How do I …": against the best
_GOING = frozenset(_all_terms("go going sort change try fix step steps actual exact"))
INSTRUCTION_MIN_COVERAGE = 0.03  # of the question, for a one-sentence procedure's bonus
LAST_RESORT_TRIED = 2  # fixes a message says it tried, for the reply to end on the last resort
ROW_BONUS = 0.25  # a table row for a "how much" one
COMMONPLACE_WEIGHT = 0.5  # a term's idf weight below which most articles hold it
LABEL_MAX_TERMS = 4  # a list item's bold label that names a row's key ("**E1 or E6:**")
_BOLD_LABEL = re.compile(r"\*\*([^*]{1,60})\*\*")
ANSWERED_ARTICLE_BONUS = 0.15  # the article the thread's last answer came from (a follow-up)
ANSWERED_SHARE = 0.6  # … recognised by this share of that answer's words
ALREADY_SAID_SHARE = 0.7  # a procedure this much of whose words the thread's last answer holds …
ALREADY_SAID_PENALTY = 0.5  # … is what the customer was told already, not the answer now
# "… on your website, not through Apple", "not the app store": a channel ruled out
_NOT_CHANNEL = re.compile(
    r"(?i)\b(?:not|never)\s+(?:(?:through|via|on|in|with|from|by)\s+)?(?:(?:the|my|an?)\s+)?"
    r"[\w.]+(?:\s+(?:store|id|play))?"
)
# "I took Plus out inside the app on my Pixel", "signed up on my iPhone": where one subscribed
_SUBSCRIBED_ON = re.compile(
    r"(?i)\b(?:took|taken|signed up|subscribed|bought|paid|pay|paying)\b[^.?!]{0,40}?"
    r"\b(?:on|through|via|with) (?:my|an|the|our) (?:[\w-]+ )?(?:iphone|ipad|android|pixel|samsung|"
    r"galaxy)\b"
)
# The channels a help centre writes separate sections for: a message that names one
_CHANNELS = {  # each word, as the channel it names ("Android": Google's store)
    term: channel
    for channel, words in {
        "apple": "apple iphone ipad",
        "google": "google android pixel samsung galaxy oneplus xiaomi motorola",
        "web": "web website com",  # "my.kettleby.com"
    }.items()
    for term in _all_terms(words)
}
STEPS_GIVEN_SHARE = 0.5  # an answer holding this share of a procedure's step words gave it
STEP_ASKED_SHARE = 0.1  # a step of it holding this share of a follow-up's words is its subject
ROW_KEY_MEANING = 0.0  # a row named by its key needs at least this section cosine to the message
VERBATIM_KEY_BONUS = 0.15  # … whose key of several words the question writes out
HEADING_CREDIT = 0.5
PREVIOUS_TURN_WEIGHT = 0.5
SEMANTIC_WEIGHT = 1.0  # × the cosine of the unit's section (its best chunk) to the query
UNIT_SEMANTIC_WEIGHT = 1.0  # × the cosine of a prose sentence (with its headings) to the question
UNIT_SEMANTIC_CANDIDATES = 24  # the best units by words that meaning may re-order
FOLLOW_UP_WORDS = 10
INTERJECTION_WORDS = 2  # "Great.", "OK thanks.": a sentence this short says what "it" is not
SHORT_QUESTION_WORDS = 7  # a question this short leans on the message's opening for its meaning
CONTEXT_SENTENCE_WEIGHT = 0.35
PROSE_BUDGET_WORDS = 150
EXCERPT_WORDS = 100  # a plain-prose passage: its best sentences, in its order, up to this many
CONTINUE_PARAGRAPHS = True
SECOND_ARTICLE_RATIO = 0.85  # a second article's unit score against the best one's
SECOND_ARTICLE_COVERAGE = 0.5  # … and its share of the message against the best one's
SECOND_PART_GAIN = 0.15  # share of the question's weight a further unit must add
MAIN_WORD_SHARE = 0.8  # … and from another article, a word nearly as heavy as the heaviest
PART_GAIN = 0.5  # … or of one of its questions, which the reply answers less than
PART_ANSWERED = 0.5  # … this share of
PART_MEANING = 0.5  # a unit's cosine to a question of several that no unit answers by its words
QUESTION_ALONE_MEANING = 0.25  # … to one of several questions, for its own best unit to join
# … even when not closer than the reply's first unit, if that question's words score the first
# under this share of its own best unit
FIRST_WORDS_RATIO = 0.7
# … and a unit holding this many times the words of that question's best one, nearly as good
# (its score ``KIND_PREFERENCE`` of the best's at least), answers it instead: the best holds
# almost none of them, only the bonus of a retrieved table ("does it come with a milk jug?":
# not "| Pump pressure | 15 bar |")
QUESTION_WORDS_RATIO = 4.0
MAX_UNITS = 3
RUNNER_UP_RATIO = 0.8  # a question's next unit, when the reply quotes its best already
RUNNER_UP_PLACE_RATIO = 0.7  # … or one that says where, for a "where is it?"
RUNNER_UP_CANDIDATES = 4  # … among this many
MAX_CANDIDATES = 12
MAX_ROWS = 3
CODE_LINES = 25  # a command or example this short is quoted after the sentence that introduces it
# A note under a table that says what its rows apply to ("every destination in the table",
# "the rates above")
_TABLE_ABOVE = re.compile(
    r"(?i)\b(?:in|from|of|on) the table\b|\bthe table above\b|\b(?:rates|prices|fees|costs|"
    r"figures|limits|times|values|amounts) (?:above|listed above|shown above)\b"
)
TABLE_NOTE_WORDS = 30  # what the opening says holds for every row, quoted under the rows
_TABLE_BELOW = re.compile(r"(?i)\b(?:in|from|see|use) the table below\b")
WHOLE_TABLE_ROWS = 6  # a table this small is quoted whole when the question picks no row
FOLLOWING_NOTE_WORDS = 40
SHORT_PARAGRAPH_WORDS = 30  # a paragraph this short is quoted from its start
BULLETS_WHOLE_WORDS = 80
TITLE_WORDS = 12  # a line this short with no closing punctuation is a heading in plain text
_BOLD = re.compile(r"\*\*([^*]+)\*\*|__([^_]+)__")
SECTION_WHOLE_WORDS = 80
CAUSES_BUDGET_WORDS = 100  # a problem's other causes, after the one that fits best
CAUSES_LIST_WORDS = 250  # an error page's other numbered causes, each with its fix
_SYMPTOM_HEADING = re.compile(r"(?i)^\W*symptoms?\b")
_MEANING_ASKED = re.compile(r"(?i)\bmean(?:s|ing)?\b")  # "what does E4 mean?"
_CAUSE_HEADING = re.compile(r"(?i)^\W*cause\b")
_NUMBERED_CAUSE = re.compile(r"(?i)^\W*cause\s+\d+\b")
_FIX = re.compile(r"(?i)^\W*fix\b")
# "what should I change?", "what do I actually have to do?": asks for steps, or a cause's fix
_WHAT_TO_DO_FORM = (  # "what exactly should people be doing with it each time?"
    r"what (exactly )?(should|do|can) (i|we|people|everyone|they|he|she|staff) "
    r"(actually |even |exactly )?((have|need) to |be )?(do|doing|change|try)"
)
_WHAT_TO_DO = re.compile(rf"(?i)\b{_WHAT_TO_DO_FORM}\b")

_HOW = re.compile(  # "how would I have known it was due?" asks for a sign, not for steps
    r"(?i)\b(how (do|can|should|would|could) (i|we|you)(?! (have )?(know|known|tell)\b)|how to|steps?|"
    r"(walk|talk|take|guide) (me|us) through|(show|tell) (me|us) how(?! (much|many|long|often|far))|"
    r"how (am|are) (i|we) (supposed|meant) to|how does one|how('s| is) (it|that|this) done|"
    # "what is he actually supposed to do with it once he's done frothing?"
    r"what (am|are|is|'s) (i|we|he|she|they|you) (actually |even )?(supposed|meant) to do|"
    r"how can (it|that|this) be done|"
    r"instructions|" + _WHAT_TO_DO_FORM + "|"
    r"(the|a) (proper|right|correct|best) way to|start to finish|what needs doing|"
    r"how does (that|this|it) work|"
    # "What have I missed?" after the steps the customer followed: those steps
    r"what (have|did) (i|we) (missed?|skip(ped)?|forg[eo]t(ten)?)\b|what am i missing|"
    # "Please go through it slowly from the beginning"
    r"(go|run|talk|walk) (me |us )?through (it|this|that|everything|the whole thing)\b.{0,30}"
    r"\bfrom the (very )?(beginning|start)|"
    r"what'?s the (process|procedure|drill)|what is the (process|procedure)|"
    # "Is there a quick routine I should be doing each time I use it?"
    r"is there an? ([\w-]+ ){0,2}routine\b|"
    # "I've been all through the app on my phone and can't find a download option - where is it?"
    r"(can'?t|cannot|couldn'?t) find (a|an|the|any) ([\w-]+ ){0,2}(option|button|setting|link)\b"
    r"[^.?!]{0,30}\bwhere\b|"
    r"where (do|can|would) (i|we) (actually |even )?(go to )?"
    r"(change|update|edit|find|turn|set|cancel|send|download|export|request)|"
    # "And where on the site do I actually do it?" (not "Where do I do that?": what to tap may
    # be a sentence)
    r"where (on|in) (the|your|my) ([\w.-]+ ){0,2}(do|can|would) (i|we) (actually |even )?"
    r"(go to )?(change|update|edit|find|turn|set|cancel|send|download|export|request|do)\b|"
    r"where is the [\w -]{1,40} (option|setting|button)|"
    # "Can you tell me where to do that on the website?"
    r"where to (actually )?(go to )?(change|update|edit|find|turn|set|cancel|send|download|export|"
    r"request|do) ([\w-]+ ){0,2}(on|in) (the|your|my) (website|site|web|app)\b|"
    # "ive been through every menu in the app … where is it hiding"
    r"where('s| is| are) (it|that|this|they|the [\w -]{1,30}) (hiding|hidden)|"
    # "I want to stop Plus": a request to do something is asked as "how do I"
    r"(i|we)( (want|need|would like)|'d like) to (cancel|stop|end|close|delete|remove|turn off|"
    r"switch off|reset|change|update|set up|connect|return|send back))\b"
    r"|\?\s*how\s*\??\s*$"  # "can i … every weekday? how"
)
# "Do I still need to do something? If so, how?": the answer to whether first, then the steps
_IF_SO_HOW = re.compile(r"(?i)\bif (?:so|yes),? how\b")
_HOW_MUCH = re.compile(
    r"(?i)\b(how (much|many|long|often|fast|far|old|big|heavy|tall|quick|soon|pricey)|what size|"
    r"limit|prices?|pricing|costs?|fees?|rate|quota|maximum|capacity|what do you charge|"
    r"set (me|us) back|minimum|max|min|per (month|minute|year)|which plans?|compare)\b"
)
# Words of how a question is asked, not what it is about ("can you tell me how much …").
QUESTION_FILLER = frozenset(
    _all_terms(
        " ".join(
            [
                "much",
                "many",
                "tell",
                "know",
                "want",
                "need",
                "would",
                "could",
                "should",
                "like",
                "able",
                "way",
                "let",
                "also",
                "just",
                "still",
                "any",
                "some",
                "get",
                "got",
                "anyone",
                "someone",
                "itself",
                "told",
                "say",
                "says",
                "said",
                "thing",
                "ok",
                "sorry",
                "hey",
                "really",
                "actually",
                "already",
                "earlier",
                "anymore",
                "guys",
                "completely",
                "totally",
                "entirely",
                "fully",
                "properly",
                "exactly",
                "quickly",
                "possible",
                "use",
                "using",
                "almost",
                "course",  # "of course", "a couple of"
                "couple",
                "sure",  # "I'm not sure …"
                "ve",  # "I've", "we'll", "you're": what is left of a contraction
                "ll",
                "re",
            ]
        )
    )
)
# A sentence that is a question: ends with "?", or opens (after "and", "also" …) with a question
# word, or asks after a dash ("I'm dairy free - will oat milk foam").
_QUESTION_OPENING = (  # "Am I about to lose Plus, and what do I need to do?"
    r"how|what|why|when|where|which|who|whether|can|could|do|does|did|is|are|am|was|were|has|have|"
    r"will|would|should|shall|may|might"
)
_QUESTION_FORMS = (
    # "And just out of interest, what happens if I lose my phone …" (no question mark)
    r"(?i)\?\s*$|^\s*((and|also|plus|but|so|oh|ps|(just\s+)?out of (interest|curiosity)|by the way|"
    r"btw|incidentally)[,:]?\s+)*({opening})\b"
    r"(?!\s+(that|this|it|so)\s*[-–—,.!:;])"  # "Did that - water came out …": I did
    r"|\s[-–—]\s+(is|are|will|would|does|do|can|could|should)\b"
    # "my machine sends you error logs and a cup count - how long do you hang on to those"
    r"|\s[-–—]\s+(how|what|why|when|where|which|who)\s+(much|many|long|often|is|are|do|does|did|"
    r"can|could|would|will|should)\b"
    # "I'm trying to cut our electricity use: how much does it draw on standby, and …"
    r"|:\s+(how|what|why|when|where|which|who)\s+(much|many|long|\w+s|is|are|do|can|would)\b"
    # "… the tracking link shows nothing at all yet, is that normal" (no question mark)
    r"|,\s*(is|was|are|does|should)\s+(that|this|it)\s+(normal|ok|okay|right|usual|expected|fine)"
    r"\s*[.!]*\s*$"
    # "If I wasn't happy with how you had handled my data, who would I actually contact …"
    r"|^\s*if\b[^?]*,\s+(how|what|why|when|where|which|who)\s+(would|should|do|does|can|could|"
    r"will)\s+(i|we)\b"
)
_QUESTION = re.compile(_QUESTION_FORMS.format(opening=_QUESTION_OPENING))
# … and a sentence that asks as a request does ("I need …", "please …"): what the message asks
_ASKING = re.compile(
    _QUESTION_FORMS.format(
        opening=_QUESTION_OPENING
        + r"|please|pls|i need|i want|i'd like|tell me|help|any way"
        + r"|(i'?m |i was |just )?wondering|(i'?m )?not sure (if|whether|how|why|what)"
        + r"|any ideas?|(i'?d )?(love|want|need) to know|(please )?let me know|just checking"
        + r"|(i'?m )?curious|i was (also |really )?hoping to"
    )
    # "My son's moved out so I want to get rid of his 6am one": a request after its reason
    + r"|\b(so|and|but|now)\s+(i|we)(\s+(need|want|would like)|'d like)\s+to\b"
    # "My husband also wants to know if he could start a coffee from the browser"
    + r"|\b(wants?|needs?|would like|'d like) to know\b"
    # "… one of our older colleagues is asking if she could just have the codes by text"
    + r"|\b(is|are|was|were|has been|have been|keeps?)\s+asking\s+(me\s+|us\s+)?"
    + r"(if|whether|how|what|when|where|why|which)\b|\basked\s+(me|us)\s+(if|whether)\b"
    # "… the serial number where on earth is it, there's nothing on the back"
    + r"|\b(where|what|how|why|which) (on earth|exactly|the heck)\s+(is|are|do|does|can|would)\b"
    # "… so I'm not sure it actually went through", "I'm honestly not 100% sure I won't …"
    # (not "We do have a VAT number but I'm not sure you need it": an offer)
    + r"|\b(i'?m|i am|we'?re|we are)\s+(\w+\s+)?not\s+(\S+\s+)?sure\b(?!\s+(you|we)\s+need)"
)
# Where a message's next question starts: after a sentence, or ", and will …".
_SUB_QUESTION = re.compile(
    r"(?<=[.!?])\s+|\n+"
    r"|,\s+(?=and (?:how|what|when|where|which|will|is|are|am|can|could|would|should|do|does)\b)"
    # "I gather there's a weekly soak, which I'll do, but what should I do each time?": what
    # the customer knows, then what they ask
    r"|,\s+(?=but (?:how|what|when|where|which|should|can|do|does|is|are|will)\b)",
    re.IGNORECASE,
)
# "I'd like to know three things: what …, how long …, and whether …": a list of questions
_LISTED = re.compile(r"(?i):\s+(?=(?:what|how|when|where|which|whether|why|who)\b)")
# … "how long does delivery to Canada take, will someone have to sign for it, and are we …"
_LIST_ITEM = re.compile(
    r"(?i),\s+(?:and\s+)?(?=(?:what|how|when|where|which|whether|why|who|"
    r"(?:will|would|can|could|should|is|are|do|does|did) (?:i|we|you|it|they|someone|anyone)"
    r")\b)"
)
_NAME = re.compile(r"(?<=\w )(?!I\b)[A-Z][a-z]+")  # "my Plus": a name, not a sentence's start
# a cause the message suggests, in the sentence before: "I put a new filter in. Could that be it?"
_COULD_THAT_BE_IT = re.compile(
    r"(?i)\s*(and |so )?(could|might|would|can) (any of |either of |one of )?(that|this|those|these|"
    r"them) be (it|why|the (cause|reason|problem|culprit)|to blame|"
    # "I always have a VPN running plus an ad blocker. Could any of that be messing with it?"
    r"(messing|interfering|getting in the way|causing|affecting|blocking))\b"
    # "I've also got NordVPN running on my phone, if that makes any difference?"
    r"|\b(if|whether|does) (that|this|it) makes? (any|a) difference\b"
)
# … or asks how to do what the sentence before says: "I'm ready to close the account for good.
# How do I actually do it in the app?"
_HOW_TO_DO_IT = re.compile(
    r"(?i)\s*(and |so |ok,? |right,? )?how (do|can|would|should|will) (i|we) (actually |even |"
    r"then |now |go about )?(do|doing) (it|that|this)\b"
)
# "… it'd be nice to start a coffee from my work laptop. Can I do that through the website?"
_CAN_I_DO_THAT = re.compile(
    r"(?i)\s*(and |so )?(can|could) (i|we) (just |still |also )?do (that|this)\b"
)
_SO_THAT = re.compile(r"(?i),?\s+so\s+(?=(?:i|we)\b)")
# ("they" is mostly people: "My in-laws … will the app be in Dutch for them? And how do they get
# onto our machine …?" is not about the app's languages)
# ("Can I just ask for another one straight away?" after "the link says it's expired")
_POINTING_BACK = re.compile(r"(?i)\b(it|that|this|them|(?:another|a new|a fresh) one)\b")
# A short question that is all about what the piece before it says ("Is that the problem?",
# "Could this be why?", "Would that cause it?"), not any question with an "it" in it
_POINTS_BACK = re.compile(
    r"(?i)^\W*(?:(?:and|so)\s+)?(?:is|was|could|would|might|can|does)\s+(?:that|this)\b"
    r"\W*(?:\w+\W*){0,4}$"
)
_EXCEPT = re.compile(r"(?i)\s*\b(?:apart from|except(?: for)?|other than|besides)\b[^.,;:?!]*")
# a question that sets itself apart from the report before it: "Separately - what's the red thing"
_SEPARATELY = re.compile(
    r"(?i)\W*(?:also,?\s+)?(?:separately|unrelated(?:ly)?|on (?:an|a) ?other (?:note|subject)|"
    r"on a (?:different|separate) (?:note|subject)|another thing|different question|"
    # "Also, once it's working, my wife wants it on her phone too - …?"
    r"once (?:it's|it is|that's|that is|it has been) (?:working|sorted|fixed|going|set up|"
    r"up and running))\b"
)
_ALSO = re.compile(r"(?i)\W*(?:and\s+)?also\b")
# A phrase a message quotes: in double quotes, or single ones around words that may hold an
# apostrophe ('Don't Allow')
_QUOTED = re.compile(
    r"[\"“]([^\"“”\n]{3,60})[\"”]|(?<!\w)['‘]((?:[^'‘’\n]|(?<=\w)['’](?=\w)){3,60}?)['’](?!\w)"
)
QUOTED_LABEL_BONUS = 0.25
ITEM_NAMED_TERMS = 2  # words of a question another item of a quoted list holds, to join it
# Where one question asks for two things: "how many machines and how many schedules",
# "(a) my old chats … and (b) my order history".
_CLAUSE = re.compile(  # "… and how many …", "(a) … (b) …", "… a month, how many …",
    # "how much do the water tank and the bean container hold?"
    r"\s+(?=and (?:how|what|when|where|which|the|my|your)\b)|\s+(?=\(?\b[a-d]\)\s)"
    r"|,\s+(?=(?:how|what|when|where|which) )"
    # "… would need to manage the machines too, so how many people can have admin rights?"
    r"|,\s+(?=so (?:how|what|when|where|which|who|can|could|do|does|is|are|will|would) )",
    re.IGNORECASE,
)
# "every cup tastes sour … What am I doing wrong?", "a puddle every morning. What's going on?":
# a problem's causes are asked, not steps
_WHATS_WRONG = re.compile(
    r"(?i)\bwhat (am|are) (i|we) doing wrong|\bwhat(?:'s| is) (going on|wrong|causing)"
    # "Is it the beans or the machine?": which cause
    r"|\b(?:is|was) it (?:the|my|our) [\w-]+(?: [\w-]+)? or (?:the|my|our) [\w-]+"
    # "Is that what's doing it? … And is there anything else I should be checking?": the others
    r"|\b(?:anything|what) else (?:(?:should|do|can|could|must) (?:i|we)|(?:i|we) (?:should|need "
    r"to|ought to|must|could)) (?:be )?(?:check|look)"
    # "is the machine dying??": the machine, or one of the causes the article lists
    r"|\b(?:is|has) (?:the|my|our) (?:machine|brew) (?:dying|broken|faulty|knackered|had it|"
    r"packing up|giving up|on (?:its|the) way out)"
)
_PROBLEM = re.compile(
    r"(?i)\b(can'?t|cannot|won'?t(?! (need|want|be (needing|using|wanting)))|doesn'?t|isn'?t|"
    r"not working|stopped|forgot|error|fix|stuck|"
    r"broken|fails?|failed|help|any ideas|what could (it|this|that) be|"
    # "my coffee's got weaker and weaker", "it's not as hot as it was"
    r"(got|getting|gone|going|become|becoming) (\w+er|worse)|"
    r"not as \w+ as (it|they) (was|were|used)|"
    r"(what|anything) else (can|could|should|do|to) (i |we )?(try|do))\b"  # "What else can I try?"
)
_WITHOUT = re.compile(r"(?i)\bwithout\s+(the\s+|a\s+|an\s+|your\s+)?[\w-]+")
# "I don't have the app (long story)", "we haven't got a smartphone"
_DONT_HAVE = re.compile(
    r"(?i)\b(?:i|we)\s+(?:don't|do not|haven't|have not)\s+(?:have|got)\s+"
    r"(?:the\s+|a\s+|an\s+|any\s+)?([\w-]+)"
)
# What the customer says the machine won't do ("it won't let me make a coffee", "the coffee
# buttons don't do anything"): a sentence of the answer's article that says why explains it
_SYMPTOM = re.compile(
    r"(?i)\b(?:won'?t|will not|doesn'?t|does not|don'?t|do not|can'?t|cannot)\s+"
    r"(?:let (?:me|us)|do anything|respond|react)\b|\bnothing happens\b|\b(?:does|do) nothing\b"
)
# What the customer did to a button: "I clicked Return items", "tapped on the Keep my account"
_LABEL_QUOTED = re.compile(r'"([^"\n]{1,40})"|“([^”\n]{1,40})”')
_PRESSED = re.compile(
    r"(?i)\b(?:click|clicked|clicking|tap|tapped|tapping|press|pressed|pressing|hit|select|"
    r"selected)(?: on)?(?: the)? "
)
# A setting the customer changed: "put the temperature up to High", "set the strength to 1"
_CHANGED_TO = re.compile(
    r"(?i)\b(?:put|turned|set|changed|switched|moved)\s+(?:the|my)\s+([\w-]+(?:\s+[\w-]+)?)\s+"
    r"(?:(?:all the way\s+)?(?:up|down)\s+)?to\s+([\w-]+)"
)
_SYMPTOM_CLAUSES = re.compile(r"[,;]+|\b(?:and|but|so)\b")  # "… so I … and it won't let me …"
SYMPTOM_MIN_TERMS = 2  # … naming at least this many things, all of which the sentence holds
_DENIED = re.compile(
    r"(?i)\b(?:not|no|never|nowhere|isn'?t|aren'?t|wasn'?t|doesn'?t|don'?t|didn'?t)\b"
)
CAUSE_MIN_TERMS = 3  # words of a heading a told thing names, for that section to join a reply
_HEADING_LABELS = frozenset(_all_terms("cause fix problem issue"))  # "Cause: …": not what it names
# a sentence that needs the one before it: it opens with a word pointing back ("It is valid for 60
# minutes") or names what it is about by a pronoun early on ("Team members who haven't set it up")
_REFERS_BACK = re.compile(
    r"(?i)^\W*(it|this|that|these|those|they|then|also|however)\b"
    r"|^\W*(\S+\s+){1,5}?(it|they|them)\b"
    # "You keep full access during this time."
    r"|^.*?\b(during|in|at|for|by|after|before|until) (this|that|these|those) "
    r"(time|point|period|stage)\b"
    # "If all the attempts fail, …": the attempts the sentence before names
    r"|^\W*if all (the|these|those)\b"
)
# "How long / how soon / when …": a unit that states a time answers it.
_TIME_ASKED = re.compile(
    r"(?i)\bhow (long|soon|quickly|fast)\b|\bhow many (minutes|hours|days|weeks|months)\b|^\s*when\b"
    r"|\bhow much time\b|\bby when\b|\bwhen (will|would|does|do|can|should) (it|i|we|you|my|the)\b"
    r"|\bwhat'?s the (turnaround|time ?frame|deadline|cut-?off)\b|\btime limit\b"
)
_DURATION = re.compile(
    r"(?i)\b(\d+|one|two|three|four|five|six|seven|eight|nine|ten|twelve|fourteen|thirty|a|an|"
    r"a few|several)\s+(\w+\s+){0,2}(minutes?|hours?|days?|weeks?|months?|years?)\b"
)
_YEARS = re.compile(  # … of years ("two years old", "a year"): _DURATION's units but years
    _DURATION.pattern.replace("minutes?|hours?|days?|weeks?|months?|", "")
)
_DAY_OF_MONTH = r"\d{1,2}(?:st|nd|rd|th)"
_DATES_APART = re.compile(
    rf"(?i)\b(?:on|since) the {_DAY_OF_MONTH}\b[^.?!]{{0,80}}?\btoday(?:'s| is)(?: the)? "
    rf"{_DAY_OF_MONTH}\b"
)
# "You can request one export every 24 hours": how often, not how long
_FREQUENCY = re.compile(r"(?i)\b(?:every|per|each|once a|twice a)\s+$")


def _states_a_time(text: str) -> bool:
    """The text states how long something takes or lasts (not only how often it may happen:
    "You can request one export every 24 hours" does not say how long an export takes)."""
    return any(not _FREQUENCY.search(text[: m.start()]) for m in _DURATION.finditer(text))


# "about 18 months after it was delivered … is that covered?": whether a time limit has passed.
_ELAPSED = re.compile(_DURATION.pattern + r"\s+(ago|old|after|since|later)\b", re.IGNORECASE)
_WITHIN = re.compile(
    r"(?i)\b(covered|cover|warranty|guarantee|still|left|eligible|too late|in time|return|refund|"
    r"claim|claiming)\b"
)
# … a section for when a policy's limit has passed: "Outside the warranty", and a question about
# that case ("Am I completely out of luck?")
_OUTSIDE = re.compile(
    r"(?i)^\s*(?:outside|beyond|after|past) (?:the|your) [\w -]*(?:warranty|"
    r"guarantee|period|window|limit)\b"
)
_PASSED = re.compile(
    r"(?i)\b(?:out of luck|(?:not|isn'?t|no longer|aren'?t) covered|out of (?:warranty|guarantee)|"
    r"(?:has|have|'s|is) (?:run out|expired|ended|over)|too late)\b"
)
TIME_BONUS = 0.2
_TIME_HEADER = re.compile(r"(?i)\b(time|days?|hours?|weeks?|how long|duration|period)\b")
# Sections that list both sides of a policy ("What's covered" / "What's not covered": headings
# that differ by these words), for a yes/no question; and what to do before a procedure.
_NEGATION = frozenset({"not", "do", "does", "is", "are"})
# "I've done literally everything on your E4 page", "nothing worked": the article's last resort
_EXHAUSTED = re.compile(
    r"(?i)\b(tried|done|followed|did)\s+(literally\s+|absolutely\s+|pretty much\s+)?"
    r"(everything|all (of )?(the|your|those|these) (steps|fixes|suggestions|things))\b"
    r"|\bnothing (works|worked|helped|fixed it)\b"
    r"|\bnone of (it|that|this|them|the \w+) (works|worked|helped|fixed it|made any difference)\b"
    r"|\b(tried|done|been through|gone through|went through) every (single )?(step|fix|suggestion)\b"
    r"|\b(going|gone|been|went) through (literally )?everything\b"
)
_LAST_RESORT = re.compile(
    r"(?i)^\W*(still\b|if (none|nothing|it still|the problem (still|continues))\b|none of)"
)
LAST_RESORT_BONUS = 0.3
_DENIES = re.compile(r"(?i)\bnot\b|n't\b|\bnever\b")
# A caution on doing something: "Only turn the dial while the grinder is running, …" (its
# action: "turn the dial")
_CAUTION = re.compile(r"(?i)^\W*only\s+(\w+\s+(?:the\s+|your\s+)?[\w-]+)\s+(?:while|when|once)\b")
# not a correction: a warning ("Don't unplug it …") or a condition ("… if you don't have …")
_WARNING = re.compile(r"(?i)^\W*(don't|do not|never|when|only)\b|\bif\b")
# a code the message says came back, and a list for a code that does
_CAME_BACK = re.compile(  # "flashed E5 at me again", not "get them going again"
    r"(?i)\b((?<!going )(?<!working )(?<!running )again|(came|comes|coming) back"
    r"|keeps? (coming|showing|flashing)|still (shows|showing)|now (it'?s|it is) showing)\b"
)
_RETURNS = re.compile(r"(?i)\b(returns?|comes? back|again|still)\b")
_CONDITION = re.compile(r"(use|do|try|follow) (this|these steps|this method) (when|if)\b", re.I)
_DENIAL = re.compile(r"n't\b|n’t\b|\b(not|no|never|without)\b", re.I)
_LABELLED = re.compile(r"\*\*([^*]{1,30}):\*\*")  # "**E1 or E6:** check that nothing …"
# a note for a state: "Cancelling during a free trial …", "If you're on a Business plan, …"
_STATE_CASE = re.compile(
    r"(?i)^\W*(?:\w+ing\s+(?:during|while\s+on|while\s+in)"
    r"|if\s+you(?:'re|\s+are)\s+(?:still\s+)?(?:on|in))\s+(?:a|an|the|your)\s+"
    r"([\w-]+(?:\s+[\w-]+)?)"
)
_PARENTHESIS = re.compile(r"\s*\([^)]*\)")  # "Machine diagnostics (error logs …)"
_CODE = re.compile(r"[a-z]{1,3}-?\d{1,4}")  # a code as a term: "e4", "kb-200"
OTHER_CODE_PENALTY = 0.3
# what the customer means to do: "Tempted to just run it through the dishwasher"
_PLAN = re.compile(
    r"(?i)\b(tempted to|i'?m planning to|i'?ll just|(i'?m|i was|was) (going to|gonna) just"
    r"|thinking of just|(i|we)'?ll (want|need) to)\b"  # "I'll want to make them coffees"
)
PLAN_MIN_SHARED = 2  # words of it a sentence that says not to shares
MISTAKEN_MIN_SHARED = 3  # words a denying sentence shares with the message it corrects
MISTAKEN_SHARE = 0.3  # … and that share of its own words
_PREREQUISITES = re.compile(r"(?i)^\s*(before you\b|what you('ll)? need\b|prerequisites\b)")
# What to do once a procedure is done ("After the reset", "After you cancel", "Next steps")
_AFTERWARDS = re.compile(r"(?i)^\s*(after (the|you|your|that|this)\b|next steps?\b|what next\b)")
# A yes/no question: "It's only 14 months old - will you still sort it under warranty?", "so it's
# covered, right?", "… still under its guarantee so can I get the tip swapped?"
_YES_NO = re.compile(
    r"(?i)(?:^|[-–—,;:]\s|\bso\s)\s*(is|are|was|were|will|would|does|do|did|can|could|should|am)\b"
    r"|,\s*(?:right|correct|yes|yeah|no|isn't it|is that right)\s*\?"
)
INTRO_PENALTY = 0.15  # an article's opening sentence, when a later unit holds more of the question
_SIGNPOST = re.compile(
    r"(?i)^\s*(this (article|guide|page|section|topic|document) (explains|describes|covers|"
    r"shows|tells you|lists|walks you|outlines|answers)|in this (article|guide|page|section))\b"
    # "For information about the maximum timeout, see Lambda limits.": a pointer elsewhere
    r"|^\s*((for (more )?(information|details)|to (learn|find out|read) more)\b[^.;]*?,\s*)?"
    r"see\b"
)
# A sentence that is itself an instruction: it tells how, no procedure needs to follow it.
_INSTRUCTION = re.compile(
    r"(?i)^(go to|tap|open|click|press|hold|select|choose|enter|sign in|swipe|turn|visit|"
    r"scroll|unplug|remove|fill|empty|rinse|restart|update)\b"
)
# … or says where, by a menu path: "create a fresh set under **Settings > Account > Security**"
_MENU_PATH = re.compile(r"\w \*{0,2}>\*{0,2} \w")
# A range a table's row key states ("8 to 14 °dH", "over 21 °dH"), and a number a message gives.
_RANGE = re.compile(
    r"(?<![\w.,])(?P<low>\d[\d,]*(?:\.\d+)?)\s*(?:to|–|-)\s*(?P<high>\d[\d,]*(?:\.\d+)?)"
)
_BOUND = re.compile(
    r"(?i)\b(?P<side>over|more than|above|from|under|less than|below|up to)\s+"
    r"(?P<value>\d[\d,]*(?:\.\d+)?)"
)
# A cell that counts something ("2 red squares"): its number and what it counts.
_COUNT_CELL = re.compile(r"(?P<n>\d[\d,]*)\s+(?P<what>[^\W\d_][\w'-]*(?:\s+[^\W\d_][\w'-]*){0,2})")
_NUMBER_WORDS = {"1": "one", "2": "two", "3": "three", "4": "four", "5": "five", "6": "six"}
_GIVEN_NUMBER = re.compile(r"(?<![\w.,£$€:/-])\d[\d,]*(?:\.\d+)?(?![\d:/]|[.,]\d)")
_FROM_TO = re.compile(r"(?i)\bfrom\s+([\w-]+)\s+to\s+([\w-]+)")
# where a message goes: "can I go back to monthly?", "switch over to the yearly option"
_GOING_TO = re.compile(
    r"(?i)\b(?:back|over|switch|move|change|go|going)\s+to\s+(?:the\s+|a\s+)?([\w-]+)"
)
_WORDS = re.compile(r"[\w'-]+")
# A section on how to do something ("How to make a privacy request"): what it does, two words or more.
_HOW_TO = re.compile(r"(?i)^\W*how to\s+(\w+\s+\S.{2,78}?)[\s.?!:]*$")
# A sentence that introduces the block after it.
_INTRODUCES = re.compile(r"(?i):\s*$|\bthe following\b")
# A sentence that sends its case to the article's procedure.
_STEPS_REFERRED = re.compile(r"(?i)\b(using|follow(ing)?|repeat(ing)?) the steps (above|below)\b")
# "If you switch the machine off halfway through, start again from step 3.": the steps just above
_STEP_NAMED = re.compile(
    r"(?i)\b(?:start|begin|carry on|continue|go back)(?: again)? (?:from|to) step \d"
)
_SEE = re.compile(
    r"(?i)\b(?:see|follow the (?:steps|instructions) in|refer to)\s+"
    r"(\*[^*]+\*|\[[^\]]+\]|[A-Z][^.;(|]{3,80})"
)
# Where something is: "on", "under", "next to" …
_PLACED = r"(?:on|in|under|underneath|inside|behind|beneath|at|next to|beside|below|above)\b"
# "The grind dial is on top of the bean hopper": where a part (of two or three words) is
_PART_PLACED = re.compile(rf"^The ((?:[a-z]+ ){{1,2}}[a-z]+) (?:is|are|sits) {_PLACED}")
_WHERE = re.compile(r"(?i)\bwhere\b")  # "where is that setting?", not "anywhere in the file"
# "where on earth is it?", "where do I find it?": a place asked; a sentence that says one
_WHERE_ASKED = re.compile(r"(?i)\b(?:some|any)?where\b")  # "is there somewhere in the app …?"
_PLACE_SAID = re.compile(
    rf"(?i)\b(?:printed|located|found|shown|written|stamped|engraved|listed|is|are)\s+{_PLACED}"
)
_SEE_ASIDE = re.compile(r"(?i)\(\s*(?:see|refer to)\b[^)]*\)")
_FOLLOW_UP_OPENING = re.compile(
    r"(?i)^\s*((ok(ay)?|thanks|thank you|cheers|great|cool|right|oh)[,.!]*\s+)?"
    r"(and|also|what about|how about|what if|same (for|with|on)|one more (thing|question))\b"
)
_PRICE_ASKED = re.compile(
    r"(?i)\bhow much (is|are|does|do|will|would)\b|\bwhat does it cost\b|\bwhat do you charge\b"
    r"|\bhow pricey\b|\bset (me|us) back\b"
)
_PRICE = frozenset(_all_terms("cost price fee charge"))
_COMPARING = re.compile(
    r"(?i)\b(cheaper|dearer|(more|less) expensive|save|saving|difference|compared?|versus|vs)\b"
)
# What a question says it is not about: "(not the app store)", "not through the app".
_NEGATED = re.compile(
    r"(?i)\(\s*not\s+([^)]{1,40})\)|\bnot\s+(?:through|via|from|in|on|at|with|using|by)\s+"
    r"(?:the\s+|a\s+|an\s+|your\s+|my\s+)?([\w-]+(?:\s+[\w-]+)?)"
    # "rather than me downloading a zip": not the self-service export
    r"|\b(?:rather than|instead of)\s+(?:me\s+|us\s+)?([\w-]+(?:\s+(?:for|on)\b)?"
    r"(?:\s+(?:a\s+|an\s+|the\s+)?[\w-]+)?)"
    # "Not the big weekly soak, just the everyday bit."
    r"|(?:^|[.?!]\s+)not\s+(?:the\s+|a\s+|an\s+)?((?:[\w-]+\s+){0,2}[\w-]+)\s*[,;]\s*"
    r"(?:just|only|but)\b"
)
# A wish ("I'd like Kettleby to send my data straight to them rather than me downloading a zip")
_WISH = re.compile(
    r"(?i)\b(?:i|we)(?:'d| would) (?:like|prefer|rather)\b|\b(?:i|we) (?:want|need)\b|\bplease\b"
    r"|\b(?:can|could|would) you\b"
)
# What a story says is not so, which rules out the cases that need it: "there's no purple light"
# (not the cause that shows one), "we haven't changed the router" (not the case of a new one);
# never what the message asks about ("there's no cancel button … How do I cancel?")
_ABSENT = re.compile(
    r"(?i)\bthere(?:'s| is| was| are| were) no\s+([\w-]+(?:\s+[\w-]+)?)"
    # "I'm only on the free plan so there's nothing to cancel": not "Cancel … first"
    r"|\bthere(?:'s| is) nothing to\s+([\w-]+)"
    # "I've had a look at the rubber ring … and it looks perfect": not the cause of a damaged one
    r"|\b(?:had a look at|looked at|checked|inspected)\s+the\s+((?:[\w-]+\s+)?[\w-]+)\b"
    r"[^.?!]{0,40}?\b(?:it|they)\s+(?:looks?|seems?|is|are)\s+(?:perfect|fine|ok|okay|intact|"
    r"spotless)\b"
    # "water tank seems fine", "the tank seems to be sitting fine": not the tank's causes
    r"|\b(?:the\s+|my\s+)?([\w-]+(?:\s+[\w-]+)?)\s+(?:seems|looks)\s+(?:to be\s+(?:\w+\s+)?)?"
    r"(?:fine|ok|okay|perfect)\b"
    # "not at the front, the drip tray's fine": not the full drip tray (not "Card's fine", a
    # word with no article: the card named in the answer)
    r"|\b(?:the|my)\s+([\w-]+(?:\s+[\w-]+)?)(?:'s|\s+is)\s+(?:fine|ok|okay|perfect)\b"
    # "and yes the hopper is full of beans": not the cause of an empty one
    r"|\byes,?\s+(?:the|my|our)\s+((?:[\w-]+\s+)?[\w-]+(?:'s|\s+is|\s+are)\s+full of\s+[\w-]+)"
    # "The tank's seated properly": not the cause of a tank that isn't
    r"|\b(?:the|my)\s+([\w-]+(?:\s+[\w-]+)?)(?:'s|\s+is)\s+(?:seated|sitting|clicked in|in)\s+"
    r"(?:properly|correctly|fine|straight)\b"
    # "Blue light is flashing, I allowed all the permissions, no VPN, but …"
    r"|(?:^|[,;:]\s*)no\s+([\w-]+)(?=\s*(?:[,;.!]|$|\s+(?:and|but)\b))"
    # "The drip tray isn't full.": not the cause of a full one
    r"|\b(?:the|my|our)\s+((?:[\w-]+\s+)?[\w-]+)(?:\s+isn't|\s+is not|'s not)\s+full\b"
    # "Drip tray's empty, nothing coming from the back": not the leak from the back
    r"|\bnothing(?:'s| is)?\s+(?:coming|leaking|dripping)\s+(?:out\s+)?(?:from|of)\s+(?:the\s+)?"
    r"([\w-]+)"
    # "nobody's touched the grind": not the cause of a changed grind
    r"|\b(?:haven't|hasn't|didn't|have not|has not|did not|never|(?:nobody|no one)(?:'s|\s+has))"
    r"\s+(?:changed|moved|replaced|touched)\s+"
    r"(?:the\s+|my\s+|our\s+)?([\w-]+(?:\s+(?:or|and)\s+(?:the\s+|my\s+|our\s+)?[\w-]+){0,3})"
)
# "Is that the problem?", "Could that be it?": what the sentence before says is suggested as the cause
_SUGGESTED = re.compile(
    r"(?i)^\W*(?:and |so )?(?:is|was|could|might|would|can) (?:that|this) (?:be )?(?:the (?:problem|"
    r"cause|reason|issue|culprit)|it|why)\b"
)
_NEAR = re.compile(
    r"(?i)\b(?:phone|iphone|ipad|tablet|it)(?:'s|\s+is|\s+was)\s+(?:right\s+|just\s+)?"
    r"(?:next to|beside|by|close to|near|on top of)\s+(?:it|the\s+(?:machine|brew))\b"
)
_FAR = frozenset(_all_terms("far away"))
_ANY_AMOUNT = frozenset(_all_terms("everything anything all whole lot"))
# "I don't want to close my account, but …": not what closing it takes (read in the article's
# words: "close my account" is deleting it)
_UNWANTED = re.compile(
    r"(?i)\b(?:i|we)\s+(?:don't|do not|dont)\s+(?:want|need|plan|intend)\s+to\s+"
    r"([\w-]+(?:\s+[\w-]+){0,3})"
)
NEGATED_PENALTY = 0.3  # × the share of the negated words a unit holds
RULED_OUT_SHARE = 0.5  # a unit that holds this share of them is never added to a reply
# "I've done the priming thing …, tried it with the filter out … Anything else to try?": what the
# customer says they have done is not the answer to "what else", nor to "still E4".
_TRIED = re.compile(
    r"(?i)\b(?:i|we)(?:'ve| have| had)?\s+(?:already\s+|just\s+|also\s+|even\s+)?"
    r"(?:tried|done|did|checked|re-?\w+ed|cleaned|descaled|replaced|updated|changed|removed|"
    r"unplugged|switched|turned|primed|rinsed|soaked|followed|tested|swapped|cleared|allowed|pulled|"
    r"taken|took|pressed|held|filled|emptied|ran|cancell?ed)\b"
    # "One thing I did notice - …": what was seen, not done; "I did put a new filter in this
    # week though": what happened, a clue to the cause
    r"(?!\s+(?:notice|see|spot|find|hear|read|wonder|think|realise|realize|put|fit|install|"
    r"add|buy|get|move|use)\b)"
    r"|^\s*(?:tried|done|checked)\b"
    # "it was descaled a fortnight ago": done, by whoever did it
    r"|\b(?:it|the machine|the brew)\s+(?:was|has been|got)\s+(?:\w+\s+)?(?:descaled|cleaned|"
    r"primed|reset|replaced|rinsed|soaked|refilled)\b"
    # "the temperature already on Medium", "is still on Medium from when I had the dark beans"
    # (not a version the phone runs: "an older iPhone still on iOS 15")
    r"|\b(?:already|still)\s+(?:on|at|set\s+(?:to|at|on))\b"
    r"(?!\s+(?:an?\s+)?(?:ios|ipados|android|version|firmware)\b)"
)
# "What if it still won't go?", "and if that doesn't fix it?": what to do when no fix works
_IF_STILL = re.compile(
    r"(?i)\b(?:what|and) if (?:it|that|this|they|none of (?:it|that|them|those|these)|nothing)"
    r"(?: still)? (?:won'?t|doesn'?t|don'?t|does ?n[o']t|do not|will not|isn'?t|fails?|works?)"
    r"(?! \w+ (?:until|before|after))"
)
# "What next?" after what the customer has done: the step after those, the article's last resort
_NEXT = re.compile(
    r"\bwhat (?:next|now)\b|\bnow what\b|\bwhat(?:'s| is) (?:the )?next step\b", re.I
)
# "What have I missed?" after what the customer has done: the step of it they left out
_MISSED = re.compile(
    r"(?i)\bwhat (?:have|did|do) (?:i|we) (?:miss|missed|forget|forgotten|skip|skipped|get wrong|"
    r"do wrong|done wrong)\b|\bwhat am i (?:missing|doing wrong)\b|\bdid (?:i|we) (?:miss|skip|"
    r"forget)\b"
)
_ELSE = re.compile(
    r"(?i)\b(?:anything|something|what) else\b[^.?!]{0,25}?\b(?:try|do|check)\b"
    r"|\b(?:any|other) (?:other )?(?:ideas|suggestions|fixes)\b"
    r"|" + _NEXT.pattern
)
# "Still E4.", "even with the temperature already on Medium": told, not asked ("can I still
# return it"); and what was done without helping ("I've pulled the plug for 30 seconds twice now
# and it's made no difference")
_STILL = re.compile(
    # (not "already" closing a sentence: "the kettle is furring up already" is how soon)
    r"(?i)\b(?:still|already(?!\s*(?:[.!?]|$))|(?:made|makes|making) (?:no|zero) difference"
    r"|(?:did ?n[o']t|does ?n[o']t|has ?n[o']t) (?:help|work|fix (?:it|anything)|change anything)"
    r"|no (?:luck|joy))\b"
)
_TRYING = frozenset(_all_terms("tried try done did checked"))
# "Only started after I took the tank out to give it a wash": what set the problem off, a clue to
# its cause, not a fix already tried
_SET_OFF = re.compile(
    r"(?i)\b(?:start(?:s|ed)?|began|begun|happen(?:s|ed)?|ever)\s+(?:just\s+|right\s+)?"
    r"(?:after|since|when)\s+(?:i|we)\b"
)
TRIED_PENALTY = 0.3  # a unit that holds this share of what one such clause says it has done
TRIED_SHARE = 0.5
# A condition a procedure states for itself that the question states the opposite of ("Use this
# when the machine is online" for "the app just shows it as offline").
_ONLINE, _OFFLINE = _all_terms("online").pop(), _all_terms("offline").pop()
_OPPOSITES = {_ONLINE: _OFFLINE, _OFFLINE: _ONLINE}
OPPOSITE_PENALTY = 0.4
# Which way a message asks to switch something ("How do I switch it on?"): not the section that
# turns it off ("Turning it off": "tap **Turn off**"), nor the other way round
_SWITCHED = re.compile(
    r"(?i)\b(?:switch|turn)(?:s|ed|ing)?\s+(?:(?:it|this|that|them|the\s+[\w-]+)\s+)?(on|off)\b"
)
_KEPT_SWITCHED = re.compile(
    r"(?i)\b(?:keep|keeps|kept|keeping|leave|leaves|left|leaving)\s+(?:[\w-]+\s+){0,3}?"
    r"(?:switched|turned)\s+(?:on|off)\b"
)
# A light's colour the message states ("the ring is slowly glowing purple"): a cause whose
# section names another colour and not this one ("its ring light blinks white slowly") is not
# this case, however much of the rest it shares.
_COLOURS = frozenset(_all_terms("white blue purple red orange green amber yellow pink"))
_COLOUR = r"(?:white|blue|purple|red|orange|green|amber|yellow|pink)"
_LIGHT = r"(?:light|ring|led|lamp|indicator|icon|glow\w*|flash\w*|blink\w*|puls\w*|shin\w*|fad\w*)"
# … or an icon's, by its shape ("the orange drop thing has been on")
_SHOWN = re.compile(rf"(?i)\b({_COLOUR})\s+(?:drop|symbol|sign|icon)\b")
_DENIED_BEFORE = re.compile(r"(?i)\b(?:no|not|never|without)\b[^.,;]*$|n't\b[^.,;]*$")
_LIT = re.compile(  # a light's colour, not a drink's ("two flat whites")
    rf"(?i)\b{_LIGHT}\W+(?:[\w']+\W+){{0,5}}?({_COLOUR})\b"
    rf"|\b({_COLOUR})\W+(?:[\w']+\W+){{0,5}}?{_LIGHT}\b"
)
# A message whose writer is signed out ("now the app wants me to sign in again", "locked out"):
# not the procedure "Change your password while signed in", however much it names signing in
_SIGNED_OUT = re.compile(
    r"(?i)\b(?:(?:wants|asks|asking|makes|made|keeps\s+asking)\s+(?:me|us)\s+to\s+(?:sign|log)\s*in"
    r"|(?:can't|cannot|can\s+not|couldn't|unable\s+to)\s+(?:sign|log)\s*in"
    r"|(?:signed|logged|locked)\s+(?:me\s+|us\s+)?out|get\s+back\s+in(?:to)?)\b"
)
_WHILE_SIGNED_IN = re.compile(r"(?i)\b(?:while|still)\s+(?:you're\s+)?(?:signed|logged)\s+in\b")
# What the customer says they have ("I do have the Kettleby app on my phone"): a section headed
# "Descale on the machine (without the app)" is for someone who has not.
_HAVE = re.compile(
    r"(?i)\b(?:i|we)\s+(?:do\s+|also\s+|still\s+)?(?:have|'ve got|have got)\s+"
    r"(?:got\s+)?(?:the|a|an|my|our)\s+((?:[\w-]+\s+){0,2}[\w-]+)"
)
# … or uses ("How do I descale it with the app?", "Descaled through the app last night"): not
# the section "(without the app)" either
_WITH = re.compile(r"(?i)\b(?:with|through|via)\s+(?:the|my|our)\s+([\w-]+)")
# "If you skip the soak in step 1, …": the condition, up to its comma
_IF = re.compile(r"(?i)^\s*if (?:you )?([^,.;:]+),")
_OR = re.compile(r"(?i)\s+or\s+")
_STEP_WORDS = frozenset({"step"})  # as terms() writes "step" and "steps"
# A phone named by its maker or model: the platform help centres write their steps for
_PLATFORMS = {
    **dict.fromkeys(
        ("pixel", "samsung", "galaxy", "oneplus", "xiaomi", "huawei", "motorola"), ("android",)
    ),
    **dict.fromkeys(("ipad", "ios"), ("iphone",)),
}
_PHONES = frozenset(_all_terms("iphone pixel samsung galaxy oneplus xiaomi huawei motorola"))
# What a brand before it names: the app or a product, not who bills ("billed by Kettleby")
_PRODUCT_WORDS = frozenset({"app", "plus", "business", "subscription", "plan"})
# Languages the help centre's list of the app's languages does not name
_LANGUAGES = (
    "portuguese polish welsh gaelic swedish danish norwegian finnish greek turkish russian "
    "ukrainian romanian hungarian czech chinese mandarin cantonese japanese korean arabic hindi "
    "urdu punjabi bengali tamil gujarati"
)
# Words a question and an article use for the same thing: a question's term counts as held when
# a unit holds all the terms of one of its alternatives ("website": "web").
SYNONYMS = {
    "website": ("web", "online"),
    "web": ("website",),
    "online": ("website", "web"),
    "respond": ("response", "reply"),
    "response": ("respond", "reply"),
    "reply": ("respond", "response"),
    "warn": ("notify", "notice", "email", "tell"),
    # "can I quickly make myself a coffee while it's doing its thing?": "Don't make drinks …"
    **dict.fromkeys(("coffee", "coffees", "latte", "cappuccino", "espresso"), ("drink",)),
    # "normal delivery": the standard service
    **dict.fromkeys(("normal", "regular", "usual", "ordinary"), ("standard",)),
    # "what's the fastest way to see my data?": "the quickest way to get a copy"
    **dict.fromkeys(("fastest", "quickest"), ("quickest", "fastest", "easiest", "express")),
    # "is the fast one free?": express shipping
    **dict.fromkeys(("fast", "quick", "quicker", "faster", "speedy"), ("express",)),
    **_PLATFORMS,
    # "it sometimes looks a bit wonky": "If the tank sits at an angle"
    **dict.fromkeys(("wonky", "crooked", "askew", "lopsided", "tilted", "slanted"), ("angle",)),
    # "I uninstalled the app": "Deleting the app from your phone does not cancel …"
    "uninstall": ("delete", "remove"),
    # "will I get stung with customs charges at the door?": "delivered duties paid … import duties"
    "customs": ("duties", "import"),
    # "will it realise if I've forgotten to leave a mug out?": "can't check that a cup is there"
    **dict.fromkeys(("mug", "mugs"), ("cup",)),
    # "the little pin in the bottom of the tank feels sticky": "The small valve in the base of
    # the tank can stick if coffee or milk residue gets on it"
    **dict.fromkeys(("sticky", "stuck"), ("stick",)),
    "milky": ("milk",),
    # "I've just switched to oat milk": "for plant-based milk, choose a "barista" version"
    **dict.fromkeys(("oat", "soya", "soy", "almond", "coconut", "cashew"), ("plant-based",)),
    # "moved across to the Amex … will the Visa stay saved?": the card
    **dict.fromkeys(("visa", "mastercard", "maestro"), ("card",)),
    "amex": ("american express", "card"),
    "bottom": ("base", "underside"),
    # "Have I been sent a dud?": "The filter floats up in the tank. Is it broken?"
    **dict.fromkeys(("dud", "duff"), ("broken", "faulty")),
    **dict.fromkeys(("bobbing", "bobs", "bob"), ("floats",)),
    "postage": ("shipping",),  # "rather than pay for postage": not the shipping rates
    # "the directors want a full dump of everyone's usage for an audit": an export
    **dict.fromkeys(("dump", "extract"), ("export",)),
    # "a little bit of water under the machine, maybe a spoonful": "up to about a tablespoon"
    **dict.fromkeys(("spoonful", "teaspoon", "spoon"), ("tablespoon",)),
    # "is there a version for my Apple Watch?": "an app for smartwatches"
    **dict.fromkeys(("watch", "wearable", "fitbit", "garmin"), ("smartwatches",)),
    # "I got my Brew from Argos": "if you bought from another retailer"
    **dict.fromkeys(
        ("argos", "currys", "amazon", "ebay", "lakeland", "costco", "selfridges", "harrods"),
        ("retailer",),
    ),
    # "bought us a Brew as a wedding present": "If the order was a gift"
    **dict.fromkeys(("present", "presents"), ("gift",)),
    # "how long is the lead?": "Power cable length"; "what's its footprint?": "Dimensions"
    **dict.fromkeys(("lead", "cord", "flex"), ("cable",)),
    "footprint": ("dimensions",),
    # "Virgin are swapping our router for a new one": "If you change your router"
    **dict.fromkeys(("swap", "swapping", "swapped", "swaps"), ("change", "replace")),
    # "can I just twist the dial whenever?": "Only turn the dial while the grinder is running"
    **dict.fromkeys(("twist", "twiddle", "rotate"), ("turn",)),
    # "I set it up in the app the day it arrived": "within 60 days of delivery"
    **dict.fromkeys(("arrived", "arrive", "arrives", "arrival"), ("delivery",)),
    # "her phone is set up in Portuguese": "The app follows the language of your phone"
    **dict.fromkeys(_LANGUAGES.split(), ("language",)),
    # "Is the jug lost?": "If an item is still missing, let us know …"
    "lost": ("missing",),
}
# … as terms: a term's one-word synonyms
_SYNONYM_TERMS = {
    term: {alias for o in others if len(o.split()) == 1 for alias in _all_terms(o)}
    for word, others in SYNONYMS.items()
    for term in _all_terms(word)
}
# A place a customer names and the region a table row may list it under ("Germany": the EU row).
_EU = (
    "Austria|Belgium|Bulgaria|Croatia|Cyprus|Czechia|Czech Republic|Denmark|Estonia|Finland|"
    "France|Germany|Greece|Hungary|Ireland|Italy|Latvia|Lithuania|Luxembourg|Malta|Netherlands|"
    "Holland|Poland|Portugal|Romania|Slovakia|Slovenia|Spain|Sweden|"
    # … and its larger cities ("Hi from Dublin!")
    "Dublin|Cork|Galway|Limerick|Paris|Lyon|Marseille|Toulouse|Nice|Bordeaux|Lille|Berlin|Munich|"
    "Hamburg|Frankfurt|Cologne|Stuttgart|Düsseldorf|Madrid|Barcelona|Valencia|Seville|Bilbao|"
    "Rome|Milan|Naples|Turin|Florence|Venice|Bologna|Amsterdam|Rotterdam|Utrecht|The Hague|"
    "Eindhoven|Brussels|Antwerp|Ghent|Bruges|Vienna|Salzburg|Lisbon|Porto|Athens|Thessaloniki|"
    "Warsaw|Krakow|Kraków|Gdansk|Prague|Brno|Budapest|Bucharest|Sofia|Zagreb|Ljubljana|"
    "Bratislava|Copenhagen|Aarhus|Stockholm|Gothenburg|Malmö|Helsinki|Tallinn|Riga|Vilnius|"
    "Valletta|Nicosia"
)
_US_STATES = (
    "Alabama|Alaska|Arizona|Arkansas|California|Colorado|Connecticut|Delaware|Florida|Hawaii|"
    "Idaho|Illinois|Indiana|Iowa|Kansas|Kentucky|Louisiana|Maine|Maryland|Massachusetts|Michigan|"
    "Minnesota|Mississippi|Missouri|Montana|Nebraska|Nevada|New Hampshire|New Jersey|New Mexico|"
    "New York|North Carolina|North Dakota|Ohio|Oklahoma|Oregon|Pennsylvania|Rhode Island|"
    "South Carolina|South Dakota|Tennessee|Texas|Utah|Vermont|Virginia|Washington|West Virginia|"
    "Wisconsin|Wyoming"
)
_US_CITIES = (
    "New York|Los Angeles|Chicago|Houston|Phoenix|Philadelphia|San Antonio|San Diego|Dallas|"
    "Austin|San Francisco|Seattle|Denver|Boston|Atlanta|Miami|Portland|Las Vegas|Detroit|"
    "Minneapolis|Nashville|Baltimore|Pittsburgh|Cleveland|Orlando"
)
_CANADA = "Toronto|Montreal|Montréal|Vancouver|Calgary|Ottawa|Edmonton|Winnipeg|Quebec|Halifax"
PLACES = (  # case-sensitive: "US" is the country, "us" a pronoun
    (re.compile(rf"\b(?<!Northern )({_EU}|European|Europe)\b"), ("European Union", "EU", "Europe")),
    (
        re.compile(rf"\b(US|USA|U\.S\.A?|America|American|{_US_STATES}|{_US_CITIES})\b"),
        ("United States", "USA", "US"),
    ),
    (re.compile(rf"\b({_CANADA})\b"), ("Canada",)),
    (
        re.compile(r"\b(England|Scotland|Wales|Britain|Great Britain|United Kingdom)\b"),
        ("UK", "United Kingdom", "Great Britain"),
    ),
    (re.compile(r"\b(UK)\b"), ("United Kingdom", "Great Britain")),
    (  # the zone UK couriers price apart from the mainland
        re.compile(
            r"\b(Orkney|Shetland|Hebrides|Skye|Islay|Mull|Arran|Jura|Tiree|Barra|Lewis and Harris|"
            r"Inverness|Highlands)\b"
        ),
        ("Scottish Highlands and Islands", "Highlands", "Islands"),
    ),
)

_UK = ("UK", "United Kingdom", "Great Britain")


def _and_named(word: str, match: re.Match) -> str:
    return f"{match.group(0)} {word}"


def _refund_asked(match: re.Match) -> str:
    """A refund, without the sum: "the £39.99" is what was paid, told, not a price asked for."""
    return f"{AMOUNT.sub('', match.group(0))} refund"


# A phrase a customer writes for the word an article uses ("go back down to Plus": downgrade);
# "how long" asks for a time, it is not about length ("How long we keep it" in a header).
_PHRASES = (
    (re.compile(r"(?i)\bhow (long|soon)\b"), "when"),
    (re.compile(r"(?i)\s*\bbefore (?:i|we) forget\b"), ""),  # "cancel now before I forget"
    # "taking one Brew off our Business plan": removing a machine from it
    (
        re.compile(
            r"(?i)\b(?:take|takes|taking|took|taken)\s+((?:[\w-]+\s+){1,3}?)off\b(?!\s+(?:and|then)\b)"
        ),
        r"remove \1from",
    ),
    # "What should we do to get back to normal?" is not about the back of the machine
    (re.compile(r"(?i)\bback to normal\b"), "normal"),
    # "a handful of recipes I'd quite like to hang on to": "if you want to keep your recipes"
    (re.compile(r"(?i)\b(?:hang|hanging|hold|holding) on ?to\b"), "keep"),
    (  # "wants to unscrew the back panel to look for the leak": "Never try to open the casing"
        re.compile(
            r"(?i)\b(?:unscrew\w*|tak\w+ (?:off|apart)|remov\w+|pr[iy]\w*|open\w*) (?:off )?"
            r"(?:the |its |a )?(?:back |side |rear |bottom |outer |plastic )?"
            r"(?:panel|cover|casing|case|housing)s?\b"
        ),
        partial(_and_named, "open the casing"),
    ),
    (  # "can we try it first without being charged?": a free trial (not "anything else to try
        # before I give up", "another app I'm trying out")
        re.compile(
            r"(?i)\b(?:can|could|may)\s+(?:i|we|you)\s+try\s+(?:it|this|that|them|plus|"
            r"business)\s+(?:out\s+)?(?:first|before)\b"
        ),
        partial(_and_named, "free trial"),
    ),
    (  # "will I get anything to say it's been done?": "You'll get a confirmation email"
        re.compile(
            r"(?i)\b(?:anything|something|an? (?:e-?mail|message|notification|note))\s+"
            r"(?:to say|saying|to confirm|confirming|to tell me)\s+(?:that\s+)?"
            r"(?:it'?s|it has|it is|it was|that'?s)\s+(?:actually\s+|really\s+)?(?:been\s+)?"
            r"(?:done|gone through|deleted|cancell?ed|worked|happened|closed)\b"
        ),
        partial(_and_named, "confirmation email"),
    ),
    # "what should I be doing after each latte?": "After every use"
    (re.compile(r"(?i)\b(after|following) each\b"), r"\1 every"),
    (  # "setting up the Brew from the sofa (it's in the kitchen at the other end of the house)":
        # the phone is too far away
        re.compile(
            r"(?i)\b(?:from|at|in) the (?:other|far) end of the (?:house|flat|building|garden)\b"
            r"|\bfrom (?:the|my|our) (?:sofa|couch|bed|garden|bedroom|living room|lounge)\b"
            r"|\bin (?:a|another) (?:different )?room\b"
        ),
        partial(_and_named, "far away"),
    ),
    (  # "are they properly gone or sitting on a server somewhere?": what backups keep
        re.compile(
            # (not "has actually gone through": done)
            r"(?i)\b(?:properly|really|actually|truly|permanently) (?:gone|deleted|erased|wiped)\b"
            r"(?!\s+through)|\bgone for good\b|\bon (?:a|your|some) servers? somewhere\b"
        ),
        partial(_and_named, "backups"),
    ),
    (  # "put my business Amex on alongside my personal debit card": two cards on file
        re.compile(
            r"(?i)\b(?:alongside|as well as|in addition to|on top of|next to)\s+(?:my|our|the|a|"
            r"his|her)\s+(?:[\w-]+\s+){0,2}card\b"
        ),
        partial(_and_named, "one card on file"),
    ),
    # "the app seems to nag me to descale constantly": the reminders
    (
        re.compile(r"(?i)\b(?:nag\w*|pester\w*|keeps? (?:telling|asking|prompting) me)\b"),
        partial(_and_named, "reminders"),
    ),
    # "Do I have to redo the whole thing?": "start again from step 3"
    (
        re.compile(
            r"(?i)\b(?:redo|re-do|do (?:it|the whole thing|everything|it all) (?:again|over)|"
            r"start (?:all )?over)\b"
        ),
        "start again",
    ),
    # "Is there a quick routine I should be doing each time I use it?": "After every use"
    (
        re.compile(r"(?i)\b(?:each|every) time (?:i|we|you) use (?:it|one|them)\b"),
        "after every use",
    ),
    (  # "Can I just email from my work address instead?": "If you write from a different address"
        re.compile(
            r"(?i)\bfrom (?:my|a|an|another|our|his|her|their) (?:work|personal|other|new|second|"
            r"office|partner's|wife's|husband's|gmail|outlook|hotmail|yahoo)\s+(?:e-?mail\s+)?"
            r"(?:address|account|e-?mail)\b"
        ),
        partial(_and_named, "different address"),
    ),
    (  # "can I order online and pop in to pick them up?": "we don't offer collection"
        re.compile(
            r"(?i)\b(?:pop|popping|call|calling|drop|dropping|swing|swinging)\s+(?:in|by|round)\b"
            r"(?:\s+(?:to|and)\s+(?:pick|collect)\w*(?:\s+(?:it|them|\w+))?(?:\s+up)?)?"
            r"|\b(?:pick|collect)\w*\s+(?:it|them|(?:the|my)\s+\w+)\s+(?:up\s+)?(?:myself|in person|"
            r"from (?:you|your))\b|\bclick and collect\b"
        ),
        partial(_and_named, "collection"),
    ),
    (  # "will it realise if I've forgotten to leave a mug out?": what the machine can check
        re.compile(
            r"(?i)\b(?:it|the machine|the brew|the app)\s+(?:\w+\s+)?(?:realise|realize|notice|"
            r"know|detect|sense|tell)\b(?=\s+(?:if|when|that|whether)\b)"
        ),
        partial(_and_named, "check"),
    ),
    (  # "can I get the tip swapped under warranty?": is it covered
        re.compile(
            r"(?i)\b(?:can|could|will|would)\s+(?:i|we|you)\s+(?:get|have|claim)\b[^.?!]{0,40}?"
            r"\bunder (?:the |its |my |our )?"
            r"(?:warranty|guarantee)\b"
        ),
        partial(_and_named, "covered"),
    ),
    (  # "is there anywhere else I can see where my parcel's got to?": tracking it
        re.compile(
            r"(?i)\bwhere (?:my|the|our) (?:parcel|order|package|delivery)(?:'s|s| is| has)?"
            r"(?:\s+(?:got to|at|now))?\b"
        ),
        partial(_and_named, "track order"),
    ),
    (  # "would the money go to them or to us?" after a return: who is refunded
        re.compile(
            r"(?i)\b(?:the\s+)?money\s+(?:go|goes|went|come|comes|be (?:sent|paid))\b(?:\s+back)?"
        ),
        "refund go",
    ),
    (re.compile(r"(?i)\b(i|we)(?:'d| would) rather\b(?!\s+not\b)"), r"\1 want to"),
    (  # "will the schedule still go off?": does it run (not: does it expire)
        re.compile(
            r"(?i)\b(schedules?|alarms?|timers?|reminders?)((?:\s+(?:still|ever|not|never))?)\s+"
            r"(?:go|goes|gone|went|going) off\b"
        ),
        r"\1\2 run",
    ),
    (  # "does the descaler go off?": does it expire (a shelf life the articles may not state)
        re.compile(r"(?i)\b(go|goes|gone|went|going) off\b|\bshelf life\b|\bbest before\b"),
        partial(_and_named, "expire"),
    ),
    (  # "can I send the gift card back?": return it (not "call back", "get back to me")
        re.compile(
            r"(?i)\b(?:send|sent|sending|ship|post|posting|take|taking)\s+"
            r"((?:(?!back\b)[\w'-]+\s+){0,3}?)back\b(?!\s+to\s+me)"
        ),
        r"return \1",
    ),
    (  # "like an idiot I unticked recipes … Can I just run another one straight away?": request
        re.compile(r"(?i)\b(?:run|do|start)\s+another\s+(export|download)\b|\brun another (one)\b"),
        r"request another \1\2",
    ),
    (  # "Is it still under warranty? If not, what are our options?", "Am I completely out of
        # luck?": what happens after the warranty ends (not any "runs out": a subscription's)
        re.compile(
            r"(?is)\b(?:warranty|covered)\b.*?\b(?:runs? out|out of luck|if not,? what are "
            r"(?:my|our|the) options)\b|\b(?:runs? out|out of luck)\b.*?\b(?:warranty|covered)\b"
        ),
        partial(_and_named, "after the warranty ends"),
    ),
    (  # "how do I get back into the schedule now I've already saved it?": edit it
        re.compile(
            r"(?i)\b(?:get|go|getting|going) back into (?:the|my|a|that) (schedule|recipe|order)s?\b"
        ),
        r"edit the \1",
    ),
    (  # "before it switches itself off": the machine's auto-off
        re.compile(r"(?i)\b(switch|turn|shut|power)(es|s|ed|ing)? (itself|themselves) off\b"),
        partial(_and_named, "auto-off"),
    ),
    (  # "if I regret it after pressing delete, is there any way back?": a change of mind
        re.compile(
            r"(?i)\b(regret(s|ted|ting)?|undo (it|that|this|the deletion)|(is there )?any way back"
            # "I'm not 100% sure I won't want the account back"
            r"|want (it|my account|the account|our account) back)\b"
        ),
        partial(_and_named, "change mind"),
    ),
    (  # "what exactly does it wipe?": what a reset erases (not "wipe the wand")
        re.compile(r"(?i)\b(does|will|would|did) (it|a reset|the reset|that|this) wipe\b"),
        "erase",
    ),
    (  # "how do I wipe it properly before it goes to my sister?": a reset (not "wipe the wand")
        re.compile(
            r"(?i)\b(?:wipe|wiping)\s+(?:it|my (?:machine|device)|the (?:machine|device))\b"
            r"(?!\s+(?:down|with|over|dry|clean))"
        ),
        partial(_and_named, "reset"),
    ),
    (  # "Put a fresh AquaPure in … straight out of the packet": not soaked first
        re.compile(r"(?i)\bstraight (?:out of|from) the (?:packet|pack|box|wrapper|wrapping)\b"),
        partial(_and_named, "skip the soak"),
    ),
    (  # "I made about eight flat whites back to back": in a row (not the machine's back);
        # "a rush of americanos …, about 15 in an hour": many in a row
        re.compile(
            r"(?i)\bback[- ]to[- ]back\b|\b(?:\d+|a dozen|dozens|lots|loads)\s+(?:[\w-]+\s+)?"
            r"(?:in|within)\s+(?:an|one|the first|half an)\s+hour\b"
        ),
        "in a row",
    ),
    (  # "what should I do with the wand each time, straight after frothing?": after every use
        re.compile(r"(?i)\b(?:each|every) time\b(?=[^.?!]{0,30}\bafter\b)"),
        "every use",
    ),
    (  # "close my Kettleby account for good": delete it
        re.compile(
            r"(?i)\b(?:close|closing|get rid of|getting rid of)\s+(?:my |our |the )?(?:[\w-]+ )?"
            r"account\b"
        ),
        partial(_and_named, "delete account"),
    ),
    (  # "get rid of his 6am one": delete it
        re.compile(r"(?i)\b(?:get|gets|getting|got) rid of\b"),
        partial(_and_named, "delete"),
    ),
    (  # "can I get a free replacement tip under that?", "will you still sort it under
        # warranty?": is it covered (not "how do I get it fixed under the warranty?")
        re.compile(
            r"(?i)\bfree (?:replacement|repair)\b|\b(?:is|are|will|would|can|could|does)\s+"
            r"(?:it|this|that|you|they|the \w+)\b[^.?!]{0,40}?\bunder (?:the |my |its )?"
            r"(?:warranty|guarantee)\b"
        ),
        partial(_and_named, "covered"),
    ),
    (REFUND, _refund_asked),  # "do we get money back …?", "can I have the £39.99 back?"
    (  # "Do you take PayPal?": accept it (not "tracking can take 24 hours")
        re.compile(
            r"(?i)\b(do|does|will|would|can|could)\s+(you|they|the shop|the store)\s+take\b"
        ),
        r"\1 \2 accept",
    ),
    # "Can I send the rest back?": what is left of it (not "Let them rest a few more days")
    (re.compile(r"(?i)\bthe rest\b(?!\s+(?:of\s+)?(?:it|them|the|my|our|your)\b)"), "it"),
    # "What's going on?" asks what is happening: not a word to find ("go to Settings")
    (re.compile(r"(?i)\b(what(?:'s| is)) going on\b"), r"\1"),
    (  # "my Plus payment didn't go through", "the card was declined": a failed payment
        re.compile(
            r"(?i)\b(?:payment|card|charge|renewal)\s+(?:didn't|did not|hasn't|has not|wouldn't|"
            r"won't|couldn't|never)\s+(?:go|gone|went)\s+through\b|\b(?:payment|card)\s+"
            r"(?:was|got|has been|had been|is being)\s+(?:declined|rejected|refused|bounced)\b"
        ),
        partial(_and_named, "payment fails"),
    ),
    (  # "what happens if you can't take the money before then?": the payment fails
        re.compile(
            r"(?i)\b(?:can't|cannot|can not|couldn't|could not|don't|didn't|won't|unable to)\s+"
            r"(?:take|get|collect)\s+(?:the|my|our|your)\s+(?:money|payment)\b"
        ),
        "payment fails",
    ),
    (  # "I have NO idea what my Kettleby password was": forgotten (not changed while signed in)
        re.compile(
            r"(?i)\b(?:no idea|can't remember|cannot remember|can't recall|don't remember|"
            r"do not remember|don't know|forgotten|forget)\s+(?:what\s+)?(?:my|our|the)\s+"
            r"(?:[\w-]+\s+)?(?:password|passcode)\b"
            # "he made up the password and now … can't remember it"
            r"|\b(?:password|passcode)\b[^.?!]{0,80}?\b(?:can't|cannot|can not|doesn't|does not|"
            r"don't|do not)\s+(?:remember|recall)\s+it\b"
        ),
        partial(_and_named, "forgot password"),
    ),
    (  # "somewhere in the app to keep an eye on it": where to check it
        re.compile(r"(?i)\bkeep (?:an eye on|track of|tabs on)\b"),
        partial(_and_named, "check"),
    ),
    (  # "How do we tell whether it's something serious?": how to work it out (not "how do I
        # tell the machine?")
        re.compile(
            r"(?i)\bhow (?:do|can|would|could|should) (?:i|we) (?:tell|find out)\b"
            r"(?!\s+(?:the|my|our|it|him|her|them|you|us)\b)"
        ),
        partial(_and_named, "work out"),
    ),
    (  # "will somebody need to be there to sign for it?": a signature on delivery
        re.compile(r"(?i)\bsign(?:s|ed|ing)? for\b"),
        partial(_and_named, "signature"),
    ),
    (  # "Should I be worried?", "is that something to worry about?": is it normal
        re.compile(
            r"(?i)\b(?:should|do|must)\s+(?:i|we)\s+(?:be|get)\s+(?:worried|concerned)\b"
            r"|\b(?:anything|something)\s+to\s+worry\s+about\b"
            # "drip drip drip. is something broken?"
            r"|\b(?:is|has)\s+(?:something|anything)\s+(?:broken|gone wrong|wrong with it)\b"
            # "How do we tell whether it's something serious?"
            r"|\b(?:it's|it is|is it|is this|is that)\s+(?:something|anything)?\s*serious\b"
        ),
        partial(_and_named, "normal"),
    ),
    (  # "I do tend to slam it back on in a rush", "just plonk the tank back on": how the tank sits
        re.compile(
            r"(?i)\b(?:slam|plonk|shove|bang|drop|chuck|throw)(?:s|med|ked|ed|ped|ing|ming|king)?\s+"
            r"(?:it|the\s+(?:water\s+)?tank)\s+(?:back\s+)?(?:on|in|down)\b"
        ),
        partial(_and_named, "tank seated"),
    ),
    (  # "got a new router": the router changed ("If you change your router …")
        re.compile(r"(?i)\b(?:new|different|replacement)\s+(?:broadband\s+)?(?:router|hub)\b"),
        partial(_and_named, "change"),
    ),
    (  # "I pay through the App Store": Apple takes the payment ("bought through Apple")
        re.compile(r"(?i)\bapp\s?store\b"),
        partial(_and_named, "apple"),
    ),
    (  # "on the Play Store": Google Play
        re.compile(r"(?i)\bplay\s?store\b"),
        partial(_and_named, "google play"),
    ),
    (  # "is it a problem if I just don't bother with one at all?": doing without it
        re.compile(
            r"(?i)\bif (?:i|we) (?:just |simply )?(?:don't|do not|stop|never) (?:bother(?:ing)? "
            r"with|use|using|fit|have) (?:one|it|them|an? [\w-]+|the [\w-]+)\b"
        ),
        partial(_and_named, "without"),
    ),
    (  # "if I'm not happy with what you do with it": unhappy, what a complaints section says
        re.compile(r"(?i)\bnot (?:happy|satisfied|pleased)\b|\b(?:dis|un)satisfied\b"),
        partial(_and_named, "unhappy"),
    ),
    (  # "do I lose Plus the minute I cancel?": the plan or access a help centre says you keep
        # (not "lose my recipes": what is erased or deleted, which articles say themselves)
        re.compile(
            r"(?i)\b(?:lose|loses|losing|lost)\s+(?:my\s+|our\s+|the\s+|all\s+|access\s+to\s+)*"
            r"(?:plus|business|premium|access|features?|benefits?|subscription|plan)\b"
        ),
        partial(_and_named, "keep access"),
    ),
    (  # "the UK regulator": a data protection (or supervisory) authority
        re.compile(r"(?i)\bregulators?\b|\bwatchdogs?\b"),
        partial(_and_named, "authority"),
    ),
    (  # "any kind of stats on how much we're drinking": usage reports
        re.compile(r"(?i)\bstats\b"),  # not "statistics", which articles write themselves
        partial(_and_named, "usage reports statistics"),
    ),
    (  # "make a flat white at 6.45 every weekday": something done at set times, a schedule
        re.compile(
            r"(?i)\b(?:every|each)\s+(?:day|morning|evening|weekday|working day|week)\b"
            r"|\bon weekdays\b"  # a time of day for a drink ("a latte ready at 7am"), not
            # "on Mondays, Wednesdays and Fridays"
            r"|\bon (?:mon|tues|wednes|thurs|fri|satur|sun)days\b"
            # any clock time ("the white screen at 6am is brutal")
            r"|\b(?:make|makes|making|brew|brewing|ready|waiting|start|starts|have|pour)\b"
            r"[^.?!]{0,40}?"
            r"\bat (?:\d{1,2}[.:]\d{2}|\d{1,2}\s?(?:am|pm))\b"
        ),
        partial(_and_named, "schedule"),
    ),
    # "how heavy": the weight, "how much does the tank hold": its capacity
    *((pattern, partial(_and_named, word)) for pattern, word in QUANTITIES),
    (  # "put the price of Plus up", "raise prices": a price change
        re.compile(
            r"(?i)\b(?:put|putting|push|pushing)\s+((?:the\s+|your\s+|our\s+)?prices?"
            r"(?:\s+of\s+[\w-]+)?)\s+up\b|\b(?:raise|raising|increase|increasing|hike|hiking)"
            r"\s+((?:the\s+|your\s+|our\s+)?prices?)\b"
        ),
        r"change \1\2",
    ),
    (  # "switch it off", "disable": what help centres call turning a setting off (or on)
        re.compile(
            r"(?i)\b(?:switch|switching|shut|shutting)\s+(?:it\s+|this\s+|that\s+|them\s+)?off\b"
            r"|\b(?:disable|disabling|deactivate|deactivating)\b"
        ),
        "turn off",
    ),
    (
        re.compile(
            r"(?i)\b(?:switch|switching)\s+(?:it\s+|this\s+|that\s+|them\s+)?on\b"
            r"|\b(?:enable|enabling|activate|activating)\b"
        ),
        "turn on",
    ),
    (
        re.compile(
            r"(?i)\b(go|going|move|moving|switch|switching|drop|dropping|step|stepping)\s+"
            r"((us|me|it|them)\s+)?(back\s+)?down\b"
            # "we're cutting back to Plus", "scaling down to Free"
            r"|\b(?:cut|cutting|scale|scaling)\s+(?:back|down)\s+(?=to\b)"
        ),
        "downgrade",
    ),
    (
        re.compile(
            r"(?i)\b(go|going|move|moving|switch|switching|step|stepping)\s+((us|me|it|them)\s+)?"
            r"(back\s+)?up\s+to\b"
        ),
        "upgrade",
    ),
)


# The english analyzer's stop words (Snowball's list) that pipeline.text keeps: Postgres never
# indexes them, so they have no idf, and weighing them as unseen words made "theres … up … out"
# outweigh the words that matter.
ANALYZER_STOP = frozenset(
    _all_terms(
        "about above after again against all am any because been before being below between both "
        "did doing down during each few further had has have having he her here hers herself him "
        "himself his just more most no nor not now off once only other ought ours ourselves out "
        "over own same she should some such than theirs them themselves there they those through "
        "too under until up very were while whom would yours yourself yourselves though theres "
        "im ive dont cant wont isnt doesnt didnt"
    )
)


def terms(text: str) -> set[str]:
    """Content terms; a single digit counts ("4 red squares", "error 5"), a single letter not."""
    return (
        {t for t in _all_terms(text) if len(t) > 1 or t.isdigit()} - QUESTION_FILLER - ANALYZER_STOP
    )


_INTENSIFIERS = frozenset({"brand", "all", "extra", "super", "ultra"})  # "brand-new" is new
UN_MIN = 6  # "unopen", "unlimit": long enough that "un" is a prefix ("unit", "under" are not)


@lru_cache(maxsize=65536)
def _text_terms(markdown: str) -> frozenset[str]:
    """The terms of a piece of an article, computed once per text: the same units are scored
    for every question that retrieves their article (stemming them was most of a draft's time).
    A word negated by "un-" holds the word it negates: "can only be returned unopened" is what
    a message that "opened it" needs to read; a word an intensifier is hyphened to holds that
    word ("a brand-new filter" is a new one)."""
    found = terms(plain(markdown))
    return frozenset(
        found
        | {t[2:] for t in found if t.startswith("un") and len(t) >= UN_MIN}
        | {t.partition("-")[2] for t in found if t.partition("-")[0] in _INTENSIFIERS}
    )


@dataclass(frozen=True)
class Question:
    latest: str  # the newest customer message
    previous: str = ""  # the customer's turn before it (a follow-up's context)
    answered: str = ""  # the agent's (or AI's) answer the newest message follows, if any

    def weights(self, sources: Sources | _Uniform, *, ruled_out: bool = True) -> dict[str, float]:
        """idf weight of each term; the sentences that ask (a "?", "how do I…") count fully, the
        ones that tell the story ("My Brew shows an orange icon.") and the previous turn less.
        What the question says it is not about ("(not the app store)") does not count, unless
        ``ruled_out`` is false (all the words it uses)."""
        asked, told = _asked_and_told(self.latest)
        negated = self.negated if ruled_out else frozenset()
        asked, told = asked - negated, told - negated
        previous = terms(self.previous) - asked - told - negated
        return (
            {t: PREVIOUS_TURN_WEIGHT * sources.weight(t) for t in previous}
            | {t: CONTEXT_SENTENCE_WEIGHT * sources.weight(t) for t in told - asked}
            | {t: sources.weight(t) for t in asked}
        )

    def asked_weights(self, sources: Sources) -> dict[str, float]:
        """``weights`` without the terms only the story around the question holds."""
        asked, told = _asked_and_told(self.latest)
        return {t: w for t, w in self.weights(sources).items() if t not in told - asked}

    def asked_parts(self, sources: Sources) -> list[dict[str, float]]:
        """Each sentence that asks, as its own weights, when the message asks more than one thing
        ("Can I send it from my work email? Also is there a fee?"), as the article words it: "I'd
        rather pay monthly" is "I want to pay monthly", which asks."""
        return self.weights_of(sources, self.asked_pieces(_phrased(self.latest)))

    def weights_of(self, sources: Sources, pieces: list[str]) -> list[dict[str, float]]:
        """Each piece's weights (the weights of the words it holds)."""
        weights = self.weights(sources)
        return [{t: weights[t] for t in terms(p) if t in weights} for p in pieces]

    def asked_pieces(self, text: str | None = None) -> list[str]:
        """The sentences of the newest message (or ``text``) that ask, when it asks more than
        one thing."""
        pieces, asking = _asking(self.latest if text is None else text)
        return [pieces[n] for n in asking]

    def asked_in_context(self) -> list[str]:
        """``asked_pieces``, each that points back ("My iPhone is stuck on iOS 15. Will the app
        run on it?") with the sentence before it, which says what "it" is."""
        pieces, asking = _asking(self.latest)
        return [
            f"{pieces[n - 1]} {pieces[n]}"
            if n and n - 1 not in asking and _POINTING_BACK.search(pieces[n])
            else pieces[n]
            for n in asking
        ]

    def opening_and(self, piece: str) -> str:
        """A question of the message with the message's opening sentence, which says what it is
        about ("Email says my Plus payment failed. … And what happens to my Plus now?"), when
        that sentence does not ask."""
        pieces, asking = _asking(self.latest)
        return f"{pieces[0]} {piece}" if asking and 0 not in asking else piece

    @cached_property
    def codes(self) -> frozenset[str]:
        """The codes the customer names ("E9", "KB-200"), in the newest message or the turn
        before it."""
        return _codes(f"{self.previous} {self.latest}")

    @cached_property
    def answered_terms(self) -> frozenset[str]:
        """The terms of the answer the newest message follows (empty when none), read as an
        article's text is (an answer repeats the article's words)."""
        return _text_terms(self.answered)

    @cached_property
    def stated(self) -> frozenset[str]:
        """The terms of the newest message, less what it rules out."""
        return frozenset(terms(self.latest)) - self.negated

    @property
    def factors(self) -> dict[str, float]:
        """How much the message names each term: asked 1, told and the previous turn less; no
        idf; not what it rules out ("I cancelled it (not the app store)": the App Store's
        procedure is not named by "store")."""
        return {t: w for t, w in self.weights(_UNIFORM).items() if t not in self.negated}

    @property
    def negated(self) -> frozenset[str]:
        """The terms the newest message rules out: "(not the app store)", and what it says it
        has already tried when it asks for something else."""
        tried = self.tried
        return _negated(self.latest).union(*tried, _TRYING if tried else ())

    @property
    def tried(self) -> tuple[frozenset[str], ...]:
        """What the newest message says was already done, one set of terms per clause, when it
        asks what else to do ("tried it with the filter out … anything else to try?")."""
        return _tried(self.latest)

    @property
    def aliases(self) -> dict[str, tuple[frozenset[str], ...]]:
        """Other ways an article may name a term of the question: "website" as "web", "Germany"
        as the "European Union" a table lists it under."""
        return _aliases(f"{self.previous}\n{self.latest}")

    @property
    def asked(self) -> str:
        """The sentences of the newest message that ask (all of it when none does)."""
        asked = _asked_pieces(self.latest)
        return " ".join(asked) if asked else self.latest

    @property
    def meant(self) -> str:
        """What the newest message asks, as its meaning is compared: the asking sentences, and
        the one before a short question about it ("… it's on 9 now. Is that the problem?")."""
        pieces = _pieces(self.latest)
        asking = set(_asking_at(tuple(pieces)))
        if not asking:
            return self.latest
        before = {n - 1 for n in asking if n and _POINTS_BACK.match(pieces[n])} - asking
        # "nobody has ever cleaned anything apart from emptying the drip tray... is that it?":
        # the cleaning, not the drip tray
        return " ".join(
            _EXCEPT.sub("", pieces[n]) if n in before else pieces[n]
            for n in sorted(asking | before)
        )

    @property
    def follow_up(self) -> bool:
        """A short message after an earlier turn ("and on Pro?", "can I do it on the machine?"),
        or one that opens as a follow-up does ("what about on Android? my husband has a Samsung
        …"), asks the same kind of question as that turn."""
        return bool(self.previous) and (
            len(self.latest.split()) <= FOLLOW_UP_WORDS
            or bool(_FOLLOW_UP_OPENING.match(self.latest))
        )

    @property
    def wants_steps(self) -> bool:
        """A "how do I" or "it doesn't work" message (or a report with no question in it), not a
        "how much / is it" one."""
        return _wants_steps(self.latest) or (self.follow_up and _wants_steps(self.previous))

    @property
    def asks_how(self) -> bool:
        """ "How do I …", not only a problem report ("it keeps throwing E4"): a report is answered
        by its cause and fix, which may be prose, not by whichever procedure names its words."""
        return bool(_HOW.search(self.latest) or (self.follow_up and _HOW.search(self.previous)))

    @property
    def wants_value(self) -> bool:
        return bool(
            _HOW_MUCH.search(self.latest) or (self.follow_up and _HOW_MUCH.search(self.previous))
        )


def _wants_steps(text: str) -> bool:
    if _HOW_MUCH.search(text) and not _HOW.search(text):
        return False
    return bool(
        _HOW.search(text)
        or _IF_SO_HOW.search(text)
        or _PROBLEM.search(text)
        or not _asked_pieces(text)
    )


def _pieces(text: str) -> list[str]:
    """The message's sentences, and the questions one sentence joins ("What's the free limit,
    and will I lose the ones over it?", "three things: what happens to my recipes, how long you
    keep my invoices, and whether …")."""
    pieces = []
    for piece in _SUB_QUESTION.split(text):
        if not piece.strip():
            continue
        listed = _LISTED.search(piece)
        if listed and len(parts := _LIST_ITEM.split(piece[listed.end() :])) > 1:
            pieces += [piece[: listed.end()].strip(), *parts]
        else:
            pieces.append(piece)
    return pieces


def _asked_pieces(text: str) -> list[str]:
    """The pieces of the message that ask (a question or a request), in order."""
    pieces = _pieces(text)
    return [pieces[n] for n in _asking_at(tuple(pieces))]


def _asking(text: str) -> tuple[list[str], list[int]]:
    """The message's pieces, and which of them ask when more than one does (else none)."""
    pieces = _pieces(text)
    asking = _asking_at(tuple(pieces))
    return pieces, asking if len(asking) > 1 else []


@lru_cache(maxsize=4096)
def _asking_at(pieces: tuple[str, ...]) -> list[int]:
    """Which pieces ask: a question or a request, and a report that a question opening
    "Separately" (or "On another note", "Unrelated", "Another thing") sets apart from itself
    ("Keep finding a little puddle under the tank … Separately - what's the red thing?"): the
    report is a matter of its own, to answer too."""
    asking = [n for n, p in enumerate(pieces) if _ASKING.search(p)]
    # … and a report after the last question that opens "Also" ("Also I've just switched to oat
    # milk and it barely foams at all."): a matter of its own too
    after = [
        n
        for n in range(asking[-1] + 1 if asking else len(pieces), len(pieces))
        if _ALSO.match(pieces[n]) or _SEPARATELY.match(pieces[n])
    ]
    asking += after
    # ("… it just says No machine found. … Also, my husband already set the machine up on his
    # phone last year - do I actually need to add it myself?": the report asks too)
    apart = [
        n
        for n in asking
        if n
        and (
            _SEPARATELY.match(pieces[n])
            or (_ALSO.match(pieces[n]) and pieces[n].rstrip().endswith("?"))
        )
    ]
    if not apart:
        return asking
    reports = {m for n in apart for m in range(max((a + 1 for a in asking if a < n), default=0), n)}
    return sorted(set(asking) | reports)


def _clauses(text: str) -> list[str]:
    """The message's pieces, each split where it asks for two things."""
    return [c for p in _pieces(text) for c in _CLAUSE.split(p) if c.strip()]


class _Uniform:
    """Every term weighs 1: how a question names a term, not how rare the term is."""

    def weight(self, term: str) -> float:
        return 1.0


_UNIFORM = _Uniform()


@lru_cache(maxsize=4096)
def _negated(text: str) -> frozenset[str]:
    found: set[str] = set()
    pieces = _pieces(text)  # (a message of one sentence asks: "instead of the app")
    asking = [p for p in pieces if len(pieces) == 1 or _ASKING.search(p) or _WISH.search(p)]
    for match in _NEGATED.finditer(text):  # "(not the app store)": not Apple's either
        if match.group(3) and not any(match.group(0) in p for p in asking):
            continue  # "pouring leftover cold brew into the tank instead of water" tells what
            # was done, which the water's causes may answer: a preference is asked or wished
        found |= terms(_phrased(next((g for g in match.groups() if g), "")))
    asked = terms(" ".join(_asked_pieces(text)))
    # "… and we've never touched the temperature. Is that the problem?": a cause suggested, not
    # one ruled out
    suggested = [p for p, after in pairwise(pieces) if _SUGGESTED.match(after)]
    for match in _ABSENT.finditer(text):
        if any(match.group(0) in p for p in suggested):
            continue
        found |= terms(next((g for g in match.groups() if g), "")) - asked
    for match in _UNWANTED.finditer(_phrased(text)):
        found |= terms(match.group(1)) - asked
    if _NEAR.search(text):  # "phone's right next to it": not the cause "too far away"
        found |= _FAR
    # "just the recipes rather than everything" rules out no unit that says "everything"
    return frozenset(found) - _ANY_AMOUNT


@lru_cache(maxsize=4096)
def _tried(text: str) -> tuple[frozenset[str], ...]:
    told = [p for p in _pieces(text) if not _ASKING.search(p)]
    if _MISSED.search(text):  # what was done is where the answer is: the step it left out
        return ()
    if not (_ELSE.search(text) or any(_STILL.search(p) for p in told)):
        return ()
    clauses = [c for p in told for c in re.split(r"[,;]+|\b(?:and|but|then)\b", p)]
    found = (
        frozenset(terms(c) - _TRYING)
        for c in clauses
        if _TRIED.search(c) and not _SET_OFF.search(c)
    )
    return tuple(c for c in found if c)


def _done_already(
    tried: tuple[frozenset[str], ...], got: set[str], vocabulary: set[str], sources: Sources
) -> int:
    """How many of the things the customer has tried a unit (with its headings) says to do,
    each judged by the words of it that its article uses ("descaled it only last week": the
    descaling)."""
    count = 0
    for clause in tried:
        known = {t: sources.weight(t) for t in clause & vocabulary}
        total = fsum(known.values())
        if total and fsum(w for t, w in known.items() if t in got) >= TRIED_SHARE * total:
            count += 1
    return count


@lru_cache(maxsize=4096)
def _aliases(text: str) -> dict[str, tuple[frozenset[str], ...]]:
    out: dict[str, tuple[frozenset[str], ...]] = {}
    words = terms(text)
    for word, others in SYNONYMS.items():
        for term in terms(word) & words:
            out[term] = out.get(term, ()) + tuple(frozenset(terms(o)) for o in others)
    for pattern, regions in PLACES:
        for match in pattern.finditer(text):
            for term in terms(match.group(0)) | {match.group(0).lower()}:
                out[term] = out.get(term, ()) + tuple(frozenset(terms(r)) for r in regions)
    return out


@lru_cache(maxsize=4096)  # a draft rewrites the same message ~20 times
def _phrased(text: str) -> str:
    """The question in the article's words ("go back down to Plus": "downgrade to Plus").

    A word a phrase adds has no idf of its own (the knowledge base is asked for the message's
    words only): it weighs as much as a word no chunk holds, and the send gate counts it as
    unseen. Both measured in session 30: with its real idf the phrases lose to the message's
    other words (five replies lost, two gained, incomplete ones sent), and not counted as unseen
    it lets rewritten questions be sent (two incomplete sends and an unanswerable one)."""
    for pattern, word in _PHRASES:
        text = pattern.sub(word, text)
    return text


def _asked_and_told(text: str) -> tuple[set[str], set[str]]:
    text = _phrased(text)
    pieces = _pieces(text)
    asking = set(_asking_at(tuple(pieces)))
    if not asking:
        return terms(text), set()
    # "I put a new filter in yesterday. Could that be it?" asks about the sentence before it
    asking |= {
        n - 1
        for n in asking
        if n and (_COULD_THAT_BE_IT.match(pieces[n]) or _CAN_I_DO_THAT.match(pieces[n]))
    }
    # "…, so I'm ready to close the account for good. How do I actually do it?": what it is
    # that the customer wants done (not the story before the "so")
    wanted = [
        parts[-1]
        for n in asking
        if n
        and n - 1 not in asking
        and _HOW_TO_DO_IT.match(pieces[n])
        and len(parts := _SO_THAT.split(pieces[n - 1])) > 1
    ]
    return (
        terms(" ".join([*(p for n, p in enumerate(pieces) if n in asking), *wanted])),
        terms(" ".join(p for n, p in enumerate(pieces) if n not in asking)),
    )


@dataclass(frozen=True)
class Scored:
    score: float
    coverage: float
    article: SourceArticle
    unit: Unit
    row_bonus: float = 0.0  # of ``score``: what a table row gets for being named or a value asked


@dataclass
class Answer:
    """The reply body (without greeting) and what it was built from."""

    parts: list[str]  # Markdown paragraphs, in reply order
    cited: list[int]  # citation numbers
    units: list[tuple[SourceArticle, Unit]]
    evidence: dict[str, float]


def coverage_of(
    weights: dict[str, float],
    got: set[str],
    context: set[str] = frozenset(),
    aliases: dict[str, tuple[frozenset[str], ...]] | None = None,
) -> float:
    # fsum: the weights come in the order of a set's terms, which changes with the process's
    # hash seed; a plain sum's last bits change with it, and two units tied on coverage would
    # swap places from one run to the next
    total = fsum(weights.values())
    if not total:
        return 0.0
    held = []
    for t, w in weights.items():  # one pass: a draft scores every unit of every source
        if _holds(t, got, aliases):
            held.append(w)
        elif context and _holds(t, context, aliases):
            held.append(HEADING_CREDIT * w)
    return fsum(held) / total


def _holds(term: str, got: set[str], aliases: dict | None) -> bool:
    """The term, or all the terms of one of its aliases."""
    return term in got or bool(aliases and any(a and a <= got for a in aliases.get(term, ())))


def score_units(question: Question, sources: Sources) -> list[Scored]:
    weights = question.weights(sources)
    how, how_much = question.wants_steps, question.wants_value
    asked = set(weights)
    factors = question.factors
    # A row's key named by the thread's previous turn counts for a follow-up that leans on it
    # ("and on Pro?"), not for a message that asks something of its own ("can you just send it
    # straight to the new app?" after "how do I get a copy of my recipes, history etc")
    keys_named = (
        asked
        if question.follow_up or not question.previous
        else set(Question(question.latest).weights(sources))
    )
    aliases, negated, tried = question.aliases, question.negated, question.tried
    asked_only = set(question.asked_weights(sources))  # without the story's words
    contradicted = _contradicted(question)
    had = _had(question)
    lacked = _lacked(question)
    not_had = _not_had(question)
    colours = _colours(question)
    switched = _switch_asked(question)
    signed_out = bool(_SIGNED_OUT.search(question.latest))
    fix_asked = bool(_WHAT_TO_DO.search(question.asked))
    time_asked = bool(_TIME_ASKED.search(question.asked) or _still_within(question))
    exhausted = bool(
        _EXHAUSTED.search(question.latest) or (tried and _NEXT.search(question.latest))
    )
    said = normalise(plain(question.latest))
    said_words = _padded_words(question.latest)  # a heading's phrase written out
    asked_words = _padded_words(question.asked)
    pressed = _pressed(question.latest)  # … a button's, as clicked
    codes_said = question.codes
    scored = []
    contrasted: set[int] = set()  # procedures whose heading the question names, among others
    answered_from = _answered_from(question, sources)
    # "the link's no good. what now?" after the steps: doing them again may be the answer
    said_before = frozenset() if _NEXT.search(question.latest) else question.answered_terms
    labels = _quoted_labels(question.latest)
    says_without = _WITHOUT.search(question.latest)
    order = _first_said(question.latest)
    pointed = _pointed_to(sources)
    asked_pieces = [terms(p) for p in _asked_pieces(question.latest)]  # in its own words
    headings_asked = {id(a): _headings_asked(a, asked_pieces) for a in sources.articles}
    for article in sources.articles:
        prior = RANK_PRIOR[min(article.rank, len(RANK_PRIOR) - 1)]
        vocabulary = _vocabulary(article) if tried else set()
        off_colour = _off_sections(article, question, colours)
        # "light's flashing blue": never the cause "the machine isn't in pairing mode"
        holding = {
            n for n in range(len(article.sections)) if _state_holds(article, n, question.latest)
        }
        if article is answered_from:
            prior += ANSWERED_ARTICLE_BONUS
        # "How long do you keep the recipes I've saved?": the row the message names of a table
        # of times holds the time asked ("Until you delete them"), however much more the other
        # rows' look like one
        named_rows = {
            id(u)
            for u in article.units
            if u.kind == "row"
            and _timed_table(article, u)
            and _names(keys_named, _row_key(u), aliases)
        }
        if len(named_rows) > 1:  # "the usage info from my machine": "Machine diagnostics" or
            named_rows = set()  # "… and machine settings"?
        for unit in article.units:
            # not quotable alone, or a sentence pointing to another source ("see *Kettleby Brew
            # warranty*"): that one answers
            if not _quotable(article, unit) or id(unit) in pointed or unit.section in holding:
                continue
            held = _unit_terms(article, unit)
            if not says_without and unit.kind == "sentence":  # a message that says "without"
                held = held - _without(unit.text)  # may ask for the sentence that says it too
            cov = coverage_of(weights, held, article.context_terms(unit), aliases)
            if unit.kind == "steps":  # which procedure: its heading and intro say
                name = _procedure_name(article, unit)
                cov = (cov + coverage_of(weights, name, aliases=aliases)) / 2
                held = held | name
            if cov <= 0:
                continue
            # a section whose heading a question names is found as surely as one a retrieved
            # chunk holds ("… in backups somewhere?": *Backups*, in no chunk)
            found = article.in_chunk(unit) or unit.section in headings_asked[id(article)]
            bonus = prior + (IN_CHUNK_BONUS if found else 0.0)
            if (
                time_asked
                and unit.kind != "steps"
                and (_states_a_time(plain(unit.text)) or id(unit) in named_rows)
            ):
                bonus += TIME_BONUS  # "how long …": "we reply within one month"
            # a row whose key is a code the message names ("Today it's E5 - … I emptied it
            # anyway"): what the code means, whatever the message says was done about it
            code_row = unit.kind == "row" and bool(_codes(" ".join(_row_key(unit))) & codes_said)
            if negated and not code_row:
                # "(not the app store)": not the procedure for the app store, nor a cause under
                # "Water in front of the machine" for "not at the front"; "rather than pay for
                # postage": not the shipping rates (a word's one-word aliases)
                got = held | article.context_terms(unit)
                ruled_out = {t for t in negated if _holds(t, got, aliases)}
                bonus -= NEGATED_PENALTY * len(ruled_out) / len(negated)
            opposite = (
                any(o in held and t not in held for t, o in contradicted)
                or bool(had and had & _without(" ".join(article.sections[unit.section].path[-1:])))
                or _needs_lacked(article, unit, lacked, not_had)
                or unit.section in off_colour
                or _switched_other_way(article, unit, switched)
                or (unit.kind == "sentence" and _case_not_said(unit.text, question))
                or (signed_out and _for_the_signed_in(article, unit))
            )
            if opposite:  # "the app shows it as offline": not the procedure "when the machine
                bonus -= OPPOSITE_PENALTY  # is online" nor its intro, however much they name
                # the app; "I do have the app": not the section "(without the app)"
            if _other_code(unit, codes_said):
                bonus -= OTHER_CODE_PENALTY  # sour coffee: not "**E1 or E6:** check that nothing
                # (a coffee bean …) is stuck", however much it names beans
            if tried and not code_row:  # "tried it with the filter out": not that fix's cause
                got = held | article.context_terms(unit)
                done = _done_already(tried, got, vocabulary, sources)
                bonus -= TRIED_PENALTY * done
            if said_before and _already_said(article, unit, said_before):
                bonus -= ALREADY_SAID_PENALTY
            if labels and any(label in _apostrophed(unit.text) for label in labels):
                bonus += QUOTED_LABEL_BONUS  # "I tap 'Don't Allow'": "If you tapped "Don't Allow""
            if _heading_label_said(article, unit, said_words):
                bonus += QUOTED_LABEL_BONUS  # "The app just says No machine found.": the
                # section headed 'During setup: "No machine found"'
            if _button_said(unit, pressed):  # … and, of its causes, 'If you tapped "Don't
                bonus += QUOTED_LABEL_BONUS  # Allow" …' for "I hit Don't Allow"
            if unit.section in headings_asked[id(article)]:
                bonus += QUOTED_LABEL_BONUS  # "what happens if I lose my phone and I've lost
                # the backup codes as well": the section "Lost your phone and your backup codes?"
            if exhausted and _last_resort(article, unit):
                bonus += LAST_RESORT_BONUS  # "I've tried everything": "Still seeing E4? …"
            if article.similarity:
                bonus += SEMANTIC_WEIGHT * article.similarity[unit.section]
            bonus += DIRECTION_BONUS * _direction(article, unit, order)
            if how and unit.kind == "steps":
                bonus += STEPS_BONUS if question.asks_how else 0.0
                if _contrast(article, unit, factors, said_words, asked_words) and not opposite:
                    contrasted.add(id(unit))
            elif (
                how
                and question.asks_how
                and (
                    _refers_to_steps(article, unit)
                    or _instruction(unit)
                    # "What should I change?" about a problem: a cause's "**Fix:** turn the grind
                    # dial one step coarser." (not for "how do I get it on the wifi?")
                    or (fix_asked and unit.kind == "sentence" and bool(_FIX.match(unit.text)))
                )
                # not one that holds next to nothing asked ("Tap **Schedules > Pause all** …
                # without deleting them" for "how do I get rid of one?")
                and cov >= INSTRUCTION_MIN_COVERAGE
            ):
                bonus += STEPS_BONUS  # "… and then add it again using the steps above"; "Go to
                # **Settings > Account > Security > Two-step verification** and tap **Turn off**."
            elif (
                unit.kind == "row"
                and (
                    how_much
                    or (
                        _names(keys_named, key := _row_key(unit), aliases)
                        and _near(article, unit)
                        and not _only_placed(key, asked, asked_only, aliases)
                        and not _named_by_commonplace(key, keys_named, weights)
                    )
                )
                and not _times_only(article, unit, asked)
            ):
                # a value question, or the row's key named ("E5", "Canada"); the row whose key
                # the question names most completely ("dataset groups", not "columns in a
                # dataset") before rows whose long keys merely mention its words
                key = _row_key(unit)
                row_bonus = ROW_BONUS
                if not _named_by_commonplace(key, keys_named, weights) and not _placed_off_topic(
                    article, unit, asked, aliases
                ):  # "two Brews": not "Brew history"; "retiring to Spain": not shipping's "EU"
                    row_bonus += ROW_BONUS * _key_share(asked, key, aliases)
                if _key_written_out(unit.text, said):  # "maximum number of dataset groups"
                    row_bonus += VERBATIM_KEY_BONUS
                scored.append(Scored(cov + bonus + row_bonus, cov, article, unit, row_bonus))
                continue
            scored.append(Scored(cov + bonus, cov, article, unit))
    scored = _intro_gives_way(_contrasted(scored, contrasted))
    scored = sorted(scored, key=_rank)
    if sources.similarity is not None and scored:
        scored = _by_meaning(scored, sources)
    return scored


def _codes(text: str) -> frozenset[str]:
    """The codes a text names ("E4", "KB-200"), as terms."""
    return frozenset(t for t in terms(text) if _CODE.fullmatch(t))


def _other_code(unit: Unit, said: frozenset[str]) -> bool:
    """An item labelled with codes ("**E1 or E6:** …") none of which the message names."""
    label = _LABELLED.match(unit.text)
    codes = _codes(label.group(1)) if label else frozenset()
    return bool(codes) and not codes & said


def _headings_asked(article: SourceArticle, pieces: list[set[str]]) -> frozenset[int]:
    """The sections headed by a question ("Lost your phone and your backup codes?") that one of
    the message's questions asks in words of its own, naming all its words (two at least)."""
    found = set()
    title = _text_terms(article.title)
    for n, section in enumerate(article.sections):
        heading = section.path[-1] if section.path else ""
        named = _text_terms(heading)
        if heading.rstrip().endswith("?"):
            if len(named) >= 2 and any(named <= piece for piece in pieces):
                found.add(n)
        # … or a heading of one word the title does not hold, which one question names ("or do
        # they hang around in backups somewhere?": "Backups")
        elif (
            len(heading.split()) == 1
            and named
            and not named <= title
            and any(
                named <= piece and not _longer_heading(article, named, piece) for piece in pieces
            )
        ):
            found.add(n)
    return frozenset(found)


def _longer_heading(article: SourceArticle, named: frozenset[str], piece: set[str]) -> bool:
    """Another heading holds the words and more, all of them in the question ("What is the
    maximum number of dataset groups?" names *Dataset groups*, not *Datasets*)."""
    return any(
        named < (words := _text_terms(section.path[-1])) and words <= piece
        for section in article.sections
        if section.path
    )


def _quoted_labels(text: str) -> tuple[str, ...]:
    """What a message quotes, of two words or more ("I tap 'Don't Allow' on every pop-up", the
    screen saying "no water flow"): a button's label or a message's words, as written."""
    return tuple(
        label
        for match in _QUOTED.finditer(text)
        if len((label := _apostrophed(match.group(1) or match.group(2))).split()) >= 2
    )


def _pressed(text: str) -> tuple[str, ...]:
    """What follows each "click / tap / press" in a message's words, as written ("I clicked
    Return items on my order": "Return items on my order")."""
    written = " ".join(_WORDS.findall(plain(text)))
    return tuple(f"{written[m.end() :]} " for m in _PRESSED.finditer(written))


def _button_said(unit: Unit, pressed: tuple[str, ...]) -> bool:
    """A button the unit names in bold, of two to five words, that the message says the customer
    clicked or tapped, capitalised as the unit writes it ("I clicked Return items on my order":
    "click **Return items**"). ``pressed``: ``_pressed`` of the message."""
    return bool(pressed) and any(
        after.startswith(f"{label} ") for label in _buttons(unit.text) for after in pressed
    )


@lru_cache(maxsize=65536)
def _buttons(text: str) -> tuple[str, ...]:
    """The bold or quoted labels of two to five words a text names ('If you tapped "Don't Allow"
    by mistake'), capitalised and without a number."""
    labels = [a or b for a, b in (*_BOLD.findall(text), *_LABEL_QUOTED.findall(text))]
    return tuple(
        " ".join(words)
        for label in labels
        if 2 <= len(words := _WORDS.findall(label)) <= 5
        and words[0][0].isupper()
        and not any(w.isdigit() for w in words)
    )


def _heading_label_said(article: SourceArticle, unit: Unit, said_words: str) -> bool:
    """A label the unit's headings quote (a screen's message, of two words or more) that the
    message (``said_words``: ``_padded_words``) writes out, quoted or not."""
    return any(
        label in said_words
        for heading in article.sections[unit.section].path
        for label in _heading_labels(heading)
    )


@lru_cache(maxsize=16384)
def _heading_labels(heading: str) -> tuple[str, ...]:
    """The labels a heading quotes, each as ``_padded_words``."""
    return tuple(_padded_words(label) for label in _quoted_labels(heading))


def _apostrophed(markdown: str) -> str:
    """``_normalised``, with a curly apostrophe written straight ("Don’t Allow")."""
    return _normalised(markdown).replace("’", "'")


@lru_cache(maxsize=65536)
def _normalised(markdown: str) -> str:
    """Text for matching a phrase, computed once per text (a table's cells, a unit)."""
    return normalise(plain(markdown))


def _near(article: SourceArticle, unit: Unit) -> bool:
    """The unit's section is not unrelated in meaning to the message: "Medium roast" does not
    name the water-hardness table's "Medium" row."""
    return not article.similarity or article.similarity[unit.section] >= ROW_KEY_MEANING


def _already_said(article: SourceArticle, unit: Unit, said: frozenset[str]) -> bool:
    """The thread's last answer already holds most of the procedure's words: the customer who
    follows it up ("and if I lost my phone and the backup codes?") has those steps. Only a
    procedure: a follow-up may ask about a sentence the answer gave ("I was told it is limited
    to 200 TB, can you clarify?") or another cell of its row ("and if we stop using the
    filter?")."""
    if unit.kind != "steps":
        return False
    held = {t for t in _unit_terms(article, unit) if not t.isdigit()}  # not the step numbers
    return bool(held) and len(held & said) / len(held) >= ALREADY_SAID_SHARE


def _row_the_reply_names(
    question: Question, picked: list[Scored], ranked: list[Scored], quoted: str
) -> Scored | None:
    """A table row whose key of two words or more the reply writes out ("Only where the mains
    voltage matches your model"), of an article it cites, with a value that names a word of the
    message ("our UK machine … in Portugal"): what the sentence leaves the customer to look up
    ("| Mains voltage | 220 to 240 V (UK and EU models), 120 V (US model) |"). It may join a
    table the reply quotes."""
    said = {t for t in terms(question.latest) if not t.isdigit()}
    aliases = question.aliases

    def valued(row: Unit) -> bool:
        values = _text_terms(" ".join(table_cells(row.text)[1:]))
        return any(_holds(t, values, aliases) for t in said)

    def in_reply(row: Unit) -> bool:
        return normalise(plain(row.text)) in quoted

    named = [
        s
        for s in ranked[:MAX_CANDIDATES]
        if s.unit.kind == "row"
        and s.score > 0
        and any(s.article is p.article for p in picked)
        and not in_reply(s.unit)  # (another row of a quoted table may join)
        and _key_written_out(s.unit.text, quoted)
        and valued(s.unit)
    ]
    if not named:
        return None
    # a key the reply's own rows write out ("UK mainland", twice in the shipping table) is not
    # named by its prose
    keys_quoted = {_row_key(s.unit) for s in ranked if s.unit.kind == "row" and in_reply(s.unit)}
    return next((s for s in named if _row_key(s.unit) not in keys_quoted), None)


def _prose_naming_the_row(
    best: Scored, picked: list[Scored], ranked: list[Scored], quoted: str
) -> Scored | None:
    """The other way round: a reply that opens with a row ("| Mains voltage | 220 to 240 V (UK and
    EU models), 120 V (US model) |") and a sentence of the row's article, among the candidates,
    that writes out its key of two words or more ("Only where the mains voltage matches your
    model"): what the value means for the customer ("A UK machine works in the EU …")."""
    if best.unit.kind != "row":
        return None
    return next(
        (
            s
            for s in ranked[:MAX_CANDIDATES]
            if s.unit.kind == "sentence"
            and s.score > 0
            and s.article is best.article
            and not _in_reply(s, picked, quoted)
            and _key_written_out(best.unit.text, normalise(plain(s.unit.text)))
        ),
        None,
    )


def _part_described(picked: list[Scored], ranked: list[Scored], quoted: str) -> Scored | None:
    """A fix that names a part of the machine ("turn the grind dial one step finer") in an
    article that says where that part is ("The grind dial is on top of the bean hopper and goes
    from 1 (finest) to 10 (coarsest). Only turn the dial while the grinder is running …"): that
    paragraph too, so the customer finds the part and handles it right."""
    said = f" {' '.join(normalise(plain(p.unit.text)) for p in picked)} "
    for s in ranked:
        if (
            s.unit.kind != "sentence"
            or all(s.article is not p.article for p in picked)
            or _in_reply(s, picked, quoted)
        ):
            continue
        described = _PART_PLACED.match(plain(s.unit.text))
        if described and f" {described.group(1).lower()} " in said:
            return s
    return None


def _last_resort_left(
    question: Question, picked: list[Scored], ranked: list[Scored], quoted: str
) -> Scored | None:
    """A message that has tried several of the fixes ("I did the hold-the-hot-water-button
    thing … I descaled two weeks ago and I even tried a drink with the filter out - still E4")
    or says it tried them all: after the fixes left, what to do when none works ("Still seeing
    E4? … stop using the machine and contact support"), of the answer's article; and one that
    has tried the fix of the cause its symptom names ("blinking white, slowly. I've pulled the
    plug for 30 seconds twice now and it's made no difference": "Still offline? …"); and one
    that asks what then ("What if it still won't go?")."""
    article = picked[0].article
    if (
        len(question.tried) < LAST_RESORT_TRIED
        and not _EXHAUSTED.search(question.latest)
        and not _IF_STILL.search(question.asked)
        and not (question.tried and _tried_section(article, picked[0].unit.section, question))
    ):
        return None
    return _unquoted(article, ranked, picked, quoted, lambda s: _last_resort(article, s.unit))


def _last_resort(article: SourceArticle, unit: Unit) -> bool:
    """The unit is what to do when nothing else worked: under "Still seeing E4?" or "If none of
    these work", or a sentence that opens so."""
    path = article.sections[unit.section].path
    return bool(
        (path and _LAST_RESORT.match(path[-1]))
        or (unit.kind == "sentence" and _LAST_RESORT.match(plain(unit.text)))
    )


def _first_said(text: str) -> dict[str, int]:
    """Where each term of a message first appears, in words."""
    order: dict[str, int] = {}
    for n, word in enumerate(_WORDS.findall(text)):
        for term in terms(word):
            order.setdefault(term, n)
    return order


def _direction(article: SourceArticle, unit: Unit, order: dict[str, int]) -> int:
    """+1 when the unit's heading says "from A to B" and the message names A before B ("we pay
    yearly … I'd rather pay monthly": "Switching from yearly to monthly"), −1 when it names them
    the other way round, 0 otherwise: the two sections hold the same words."""
    match = _from_to(article, unit)
    if match is None:
        return 0
    return _said_order(terms(match.group(1)), terms(match.group(2)), order)


def _from_to(article: SourceArticle, unit: Unit) -> re.Match | None:
    """The "from A to B" of the unit's section heading ("Switching from yearly to monthly")."""
    path = article.sections[unit.section].path
    return _FROM_TO.search(path[-1]) if path else None


def _goes_to(scored: Scored, piece: str) -> bool:
    """The unit's section heading goes "from A to B" and the question goes to B ("can I go back
    to monthly?": "Switching from yearly to monthly")."""
    match = _from_to(scored.article, scored.unit)
    going = {t for m in _GOING_TO.finditer(piece) for t in terms(m.group(1))}
    return match is not None and bool(going) and terms(match.group(2)) <= going


def _compares(scored: Scored) -> bool:
    """The unit names both sides of its section's "from A to B" heading."""
    match = _from_to(scored.article, scored.unit)
    held = _text_terms(plain(scored.unit.text))
    return match is not None and all(
        terms(match.group(n)) and terms(match.group(n)) <= held for n in (1, 2)
    )


def _said_order(a: set[str], b: set[str], order: dict[str, int]) -> int:
    """+1 when the message (``order``: ``_first_said``) names the one term of ``a`` before the
    one of ``b``, −1 when after, 0 when it does not name both."""
    if len(a) != 1 or len(b) != 1 or a == b:
        return 0
    first, second = order.get(next(iter(a))), order.get(next(iter(b)))
    if first is None or second is None:
        return 0
    return 1 if first < second else -1


def _quotable(article: SourceArticle, unit: Unit) -> bool:
    """Code is quoted inside its procedure, a lead-in only with its list, and a signpost ("This
    article explains …") never."""
    return unit.kind != "code" and not _dangling(article, unit) and not _signpost(unit)


def _pointers(text: str, article: SourceArticle, titles: dict[str, SourceArticle]):
    """The places in ``text`` (of ``article``) that send the reader to another of the sources by
    its title ("see *Kettleby Brew warranty*"), with that source (``titles``: ``_titles``)."""
    for match in _SEE.finditer(text):
        target = titles.get(_pointed_title(match))
        if target is not None and target is not article:
            yield match, target


def _pointed_title(match: re.Match) -> str:
    return normalise(plain(match.group(1)).strip(" .*_[]"))


@lru_cache(maxsize=65536)
def _titles_named(text: str) -> frozenset[str]:
    """What each "see …" of a text names, as a title would be written (once per text)."""
    lowered = text.lower()
    if "see" not in lowered and "refer to" not in lowered and "follow the" not in lowered:
        return frozenset()  # most sentences: no pattern search (every unit of every source)
    return frozenset(_pointed_title(m) for m in _SEE.finditer(text))


def _titles(sources: Sources) -> dict[str, SourceArticle]:
    """Each source by its title, as a pointer writes it."""
    return {normalise(a.title): a for a in reversed(sources.articles)}


def _pointed_to(sources: Sources) -> set[int]:
    """The sentences that send the reader to another of the sources by its title."""
    titles = _titles(sources)  # once: a page may hold hundreds of "see …"
    return {
        id(unit)
        for article in sources.articles
        for unit in article.units
        if unit.kind == "sentence"
        and any(titles.get(t, article) is not article for t in _titles_named(unit.text))
        and not _says_more(unit.text)
    }


def _says_more(text: str) -> bool:
    """A sentence whose pointer is an aside in brackets: it states something of its own around
    it ("Brew history is kept for as long as your plan allows (see *Kettleby app plans*) and
    older entries are deleted automatically"), unlike "For refunds, see *Subscription refund
    policy*."."""
    return bool(_SEE_ASIDE.search(text))


def _followed(
    best: Scored, parts: list[str], sources: Sources, ranked: list[Scored]
) -> Scored | None:
    """The unit of another source that the quoted answer points to ("… make a privacy request.
    See *Your privacy rights and how to make a request*."; a row "E4 | Follow the steps in *Error
    E4*"): of that article, the section whose headings hold most of the words that point ("How
    to make a privacy request"), and among equals the unit that answers the question best."""
    score = {id(s.unit): s.score for s in ranked}
    for text in (plain(part) for part in parts):
        for match, target in _pointers(text, best.article, _titles(sources)):
            before = re.split(r"[|\n]|(?<=[.!?;])\s+", text[: match.start(1)])
            pointing = next((p for p in reversed(before) if len(p.split()) > 1), "")
            weights = Question(pointing).weights(sources)
            unit = max(
                (u for u in target.units if _quotable(target, u)),
                key=lambda u, t=target, w=weights: (
                    _pointer_names(t, u, w),
                    score.get(id(u), 0.0),
                ),
                default=None,
            )
            if unit is not None:
                return Scored(best.score, 0.0, target, unit)
    return None


def _pointer_names(target: SourceArticle, unit: Unit, weights: dict[str, float]) -> float:
    """How much of a pointer's words (``weights``) the unit's headings hold, when they hold two or
    more ("make a privacy request": *How to make a privacy request*); one ("For refunds": *How
    refunds are paid*) says which article, not which section, and counts nothing: the question's
    own best unit of that article answers."""
    heading = _text_terms(" ".join(target.sections[unit.section].path))
    return coverage_of(weights, heading) if len(heading & set(weights)) > 1 else 0.0


def _answered_from(question: Question, sources: Sources) -> SourceArticle | None:
    """For a message after an answer, the article that answer was taken from (most of that
    answer's words are the article's): "and if we stop using the filter?" after "with soft water
    and a filter fitted, descale every 3,000 cups" asks about that article's table. Any message
    that follows an answer, not only a short one: "Done, it's disappeared off my app. What will
    she need to do at her place?" after the reset steps goes on about the reset (session 31: three
    more dev replies complete, none lost)."""
    said = question.answered_terms
    if not said:
        return None
    shares = [
        (len(said & set().union(*(_unit_terms(a, u) for u in a.units))) / len(said), a)
        for a in sources.articles
        if a.units
    ]
    share, article = max(shares, key=lambda sa: sa[0], default=(0.0, None))
    return article if share >= ANSWERED_SHARE else None


def _contrasted(scored: list[Scored], contrasted: set[int]) -> list[Scored]:
    """The procedure the question names ("on my iPad") wins among its article's procedures, in
    the article the question is about: the one that holds the best unit without this bonus. It
    does not bring in another article ("switch off two-step verification on the family iPad" is
    not about cancelling on an iPad)."""
    if not contrasted or not scored:
        return scored
    article = max(scored, key=lambda s: (s.score, -s.article.rank)).article
    return [
        Scored(s.score + CONTRAST_BONUS, s.coverage, s.article, s.unit)
        if s.article is article and id(s.unit) in contrasted
        else s
        for s in scored
    ]


def _rank(s: Scored) -> tuple:
    """Best score first; ties in the retriever's and the article's order."""
    return (-s.score, s.article.rank, s.unit.section, s.unit.block)


def _by_meaning(scored: list[Scored], sources: Sources) -> list[Scored]:
    """Among passages of plain prose, the best sentences by words re-scored by how close each
    one (with its title and headings) is in meaning to what the question asks.

    Only when every candidate is a sentence: the model reads prose well but a table row or a list
    item badly, and measured on the support-answers set (articles with procedures, tables and
    lists) any semantic bonus beside the rules above turned correct rows and list items into
    on-topic sentences that do not answer; on MTRAG's prose passages it lifted ROUGE-L.
    """
    head = scored[:UNIT_SEMANTIC_CANDIDATES]
    if len(head) < 2:
        return scored
    if any(s.unit.kind != "sentence" for s in head):
        return _best_articles_sentences_by_meaning(scored, sources)
    cosines = sources.similarity(
        [probe_text(s.article.title, s.article.sections, s.unit) for s in head]
    )
    rescored = [
        Scored(s.score + UNIT_SEMANTIC_WEIGHT * c, s.coverage, s.article, s.unit)
        for s, c in zip(head, cosines, strict=True)
    ]
    return sorted(rescored, key=_rank) + scored[UNIT_SEMANTIC_CANDIDATES:]


def _best_articles_sentences_by_meaning(scored: list[Scored], sources: Sources) -> list[Scored]:
    """When the best unit is a sentence, which sentence of its article leads is decided by words
    and meaning together; the places the article's sentences hold in the ranking do not change, so
    rows, lists and procedures keep theirs (an article's opening, which names everything the
    article covers, gives way to the sentence that answers: "when does an upgrade kick in")."""
    head = scored[:UNIT_SEMANTIC_CANDIDATES]
    best = head[0]
    if best.unit.kind != "sentence":
        return scored
    slots = [
        n for n, s in enumerate(head) if s.unit.kind == "sentence" and s.article is best.article
    ]
    if len(slots) < 2:
        return scored
    mine = [head[n] for n in slots]
    cosines = sources.similarity(
        [probe_text(s.article.title, s.article.sections, s.unit) for s in mine]
    )
    order = sorted(
        zip(mine, cosines, strict=True),
        key=lambda sc: -(sc[0].score + UNIT_SEMANTIC_WEIGHT * sc[1]),
    )
    out = list(scored)
    for n, (s, _) in zip(slots, order, strict=True):
        out[n] = Scored(head[n].score, s.coverage, s.article, s.unit)
    return out


def _intro_gives_way(scored: list[Scored]) -> list[Scored]:
    """An article's opening sentences say what it is about; when a unit under one of its headings
    holds more of the question, the opening is the poorer answer. An opening paragraph that
    signposts ("This article explains when a change takes effect") is an overview, never the
    answer: the sections it announces answer."""
    later: dict[int, float] = {}
    for s in scored:
        if s.article.sections[s.unit.section].path:
            later[id(s.article)] = max(later.get(id(s.article), 0.0), s.coverage)
    opening = [
        s
        for s in scored
        if s.unit.kind == "sentence"
        and not s.article.sections[s.unit.section].path
        and id(s.article) in later
    ]
    overview = {id(s) for s in opening if _signposted(s.article, s.unit)}
    weaker = {id(s) for s in opening if s.coverage < later[id(s.article)]}
    return [
        Scored(s.score - INTRO_PENALTY, s.coverage, s.article, s.unit) if id(s) in weaker else s
        for s in scored
        if id(s) not in overview
    ]


def _signposted(article: SourceArticle, unit: Unit) -> bool:
    """The unit's paragraph holds a signpost: it says what the article covers."""
    block = article.sections[unit.section].blocks[unit.block]
    return any(_SIGNPOST.match(plain(item)) for item in block.items)


def _signpost(unit: Unit) -> bool:
    """ "This article explains when a change takes effect": what an article covers, not an answer."""
    return unit.kind == "sentence" and bool(_SIGNPOST.match(plain(unit.text)))


def _had(question: Question) -> frozenset[str]:
    """What the customer says they have ("I do have the app") or use ("how do I descale it with
    the app?", also in their turn before)."""
    used = _WITH.findall(f"{question.previous}\n{question.latest}")
    return frozenset(terms(" ".join([*_HAVE.findall(question.latest), *used])))


def _lacked(question: Question) -> frozenset[str]:
    """What the customer says they are doing without ("How do I descale without the app? My
    phone's dead.", also in their turn before)."""
    return _without(f"{question.previous}\n{question.latest}") - {"without"} | _not_had(question)


def _not_had(question: Question) -> frozenset[str]:
    """What the customer says they don't have ("I don't have the app (long story)")."""
    return frozenset(terms(" ".join(m.group(1) for m in _DONT_HAVE.finditer(question.latest))))


def _needs_lacked(
    article: SourceArticle, unit: Unit, lacked: frozenset[str], not_had: frozenset[str]
) -> bool:
    """The unit's heading names what the customer is without, and not as "without" ("Descale
    from the app" for a customer descaling without it); a procedure that uses what they say
    they don't have."""
    if not lacked:
        return False
    heading = " ".join(article.sections[unit.section].path[-1:])
    if unit.kind == "steps" and not_had & _unit_terms(article, unit):  # "I don't have the app":
        return True  # not the steps "… 4. In the app, open **Settings …**"
    return bool(lacked & _text_terms(heading)) and not lacked & _without(heading)


def _times_only(article: SourceArticle, unit: Unit, words: set[str]) -> bool:
    """Every value column of the row's table is a time ("How long we keep it") and the message
    (``words``: its terms) names nothing else of them ("do you keep my card details?"): the row
    does not answer it, though it names what the message is about ("Marketing preferences") or
    the message asks how long ("how long do you have to reply?", "is my data still in your
    backups, and for how long?")."""
    besides = _table_times(article, unit)
    return besides is not None and not words & besides


def _timed_table(article: SourceArticle, unit: Unit) -> bool:
    """The row's table gives a time in every value column ("How long we keep it")."""
    return _table_times(article, unit) is not None


def _table_times(article: SourceArticle, unit: Unit) -> frozenset[str] | None:
    """``_times_header`` of the row's table."""
    header = article.sections[unit.section].blocks[unit.block].header
    return _times_header(header[0]) if header else None


@lru_cache(maxsize=4096)  # once per table, not per row and question (a how-much question checks
# every row of every source)
def _times_header(header: str) -> frozenset[str] | None:
    """For a header whose value columns are all times, the terms they hold besides the time
    ("keep" of "How long we keep it"); None for any other header."""
    values = table_cells(header)[1:]
    if not values or not all(_TIME_HEADER.search(cell) for cell in values):
        return None
    return frozenset(terms(_TIME_HEADER.sub(" ", " ".join(values))))


@lru_cache(maxsize=65536)  # a unit's text is read for every question that says which way
def _switched(text: str) -> frozenset[str]:
    """The ways ("on", "off") a text says something is switched or turned."""
    return frozenset(m.lower() for m in _SWITCHED.findall(plain(text)))


def _switch_asked(question: Question) -> frozenset[str]:
    """The ways a question asks to switch something, not the state it says something is kept in
    ("Our IT team keep Location switched off … does the app need it?" asks for no switching)."""
    return _switched(_KEPT_SWITCHED.sub(" ", question.asked))


def _for_the_signed_in(article: SourceArticle, unit: Unit) -> bool:
    """A unit for someone still signed in: under a heading that says so ("Change your password
    while signed in"), or a sentence that does ("If you're still signed in …")."""
    heading = " ".join(article.sections[unit.section].path[-1:])
    text = unit.text if unit.kind == "sentence" else ""
    return bool(_WHILE_SIGNED_IN.search(f"{heading}\n{text}"))


def _switched_other_way(article: SourceArticle, unit: Unit, asked: frozenset[str]) -> bool:
    """The question asks to switch one way ("switch it on"), the unit and its heading only the
    other ("Turning it off")."""
    if len(asked) != 1:
        return False
    heading = " ".join(article.sections[unit.section].path[-1:])
    told = _switched(f"{heading}\n{unit.text}")
    return bool(told) and not told & asked


def _only_placed(key: set[str], said: set[str], asked: set[str], aliases: dict) -> bool:
    """The row's key is named only by where the story says the customer is ("I live in Dublin
    … how does that work for me?" names no row of the shipping rates: the return does)."""
    return not key & said and not _names(asked, key, aliases)


def _names(asked: set[str], key: set[str], aliases: dict) -> bool:
    """The question names the row's key, or a place the key's region holds ("Germany": "EU")."""
    return bool(key & asked) or any(a and a <= key for t in asked for a in aliases.get(t, ()))


def _placed_off_topic(article: SourceArticle, unit: Unit, asked: set[str], aliases: dict) -> bool:
    """The row's key is named only as a place ("We're retiring to Spain": *European Union*) and
    the question asks nothing its table or article is about (a cost, a delivery, shipping): the
    shipping rates answer nothing about using the machine there."""
    key = _row_key(unit)
    if key & asked or not _names(asked, key, aliases):
        return False
    header = article.sections[unit.section].blocks[unit.block].header
    topic = _text_terms(article.title) | (_text_terms(header[0]) if header else frozenset())
    return not (topic - key) & asked


def _named_by_commonplace(key: set[str], named: set[str], weights: dict[str, float]) -> bool:
    """Part of the row's key is named, only by a word most articles hold (the product's name:
    "one Brew in the kitchen" does not name the row "Brew schedules")."""
    shared = key & named
    return (
        bool(shared)
        and shared != key
        and all(weights.get(t, 0.0) < COMMONPLACE_WEIGHT for t in shared)
    )


def _key_named(asked: set[str], key: set[str], aliases: dict) -> int:
    """How many terms of a row's key the question names (all of them through a place alias)."""
    if any(a and a <= key for t in asked for a in aliases.get(t, ())):
        return len(key)
    return len(key & asked)


def _key_written_out(row: str, said: str) -> bool:
    """The question writes the row's key of two or more words out word for word (``said``:
    normalised); a one-word key is named or not, as ``_key_share`` counts."""
    cells = table_cells(row)
    return bool(cells) and _written_out(cells[0], said)


def _cells_written_out(row: str, said: str) -> list[int]:
    """The columns of a row (not its key) whose cell of two or more words the message writes out
    word for word (``said``: normalised)."""
    return [c for c, cell in enumerate(table_cells(row)) if c > 0 and _written_out(cell, said)]


def _written_out(cell: str, said: str) -> bool:
    """A cell of two or more words that ``said`` (normalised) holds word for word, or a count
    that it gives with the same words right after the number ("2 squares went red" for "2 red
    squares")."""
    text = _normalised(cell)
    if " " not in text:
        return False
    # the substring test first: a pattern compiled per cell and message thrashed re's cache
    # (16 ms of a 77 ms draft on aws-docs-qa's long tables)
    if text in said and re.search(rf"(?<!\w){re.escape(text)}(?!\w)", said):
        return True
    count = _COUNT_CELL.fullmatch(text)
    word = _NUMBER_WORDS.get(count["n"]) if count else None  # "got four red squares"
    if not count or (count["n"] not in said and not (word and word in said)):
        return False
    number = f"(?:{re.escape(count['n'])}|{word})" if word else re.escape(count["n"])
    words = count["what"].split()
    wanted = terms(count["what"])
    return bool(wanted) and any(
        wanted <= terms(" ".join(said[m.end() :].split()[: len(words) + 1]))
        for m in re.finditer(rf"(?<![\w.,]){number}(?![\w]|[.,]\d)", said)
    )


def _key_share(asked: set[str], key: set[str], aliases: dict) -> float:
    """The share of a row key's terms that the question names (all of them through a place)."""
    return _key_named(asked, key, aliases) / len(key) if key else 0.0


def _contrast(
    article: SourceArticle,
    unit: Unit,
    factors: dict[str, float],
    said: str = "",
    asked: str = "",
) -> float:
    """1 when the question names what sets this procedure's heading apart from the article's other
    procedures ("in the app" vs "on the machine"), 0 otherwise; the question's own words count,
    not how rare they are in the knowledge base ("app" and "machine" are everywhere). A phrase of
    one heading's that the message writes out ("it says billed by Kettleby") names it, however
    often the message names another's words ("not listed in the iPad settings"). ``said``: the
    message's words, lower-case, space-separated and padded with a space at each end; ``asked``:
    its questions' words, padded alike, where a phrase written names the procedure before one the
    story writes ("I wipe the wand after every use … how do I do a proper deep clean of it?":
    *Weekly deep clean*, not *After every use*)."""
    names = {
        u.section: _procedure_name(article, u) | _condition(article, u)
        for u in article.units
        if u.kind == "steps"
    }
    if len(names) < 2:
        return 0.0
    runs = {n: _heading_runs(article, n) for n in range(len(article.sections))}

    def own(section: int) -> set[str]:  # the runs no other heading of the article has
        return runs[section] - set().union(*(r for n, r in runs.items() if n != section))

    written = [s for s in names if any(f" {p} " in asked for p in own(s))]
    if len(written) != 1:
        written = [s for s in names if any(f" {p} " in said for p in own(s))]
        asked_terms = terms(asked)
        if len(written) == 1 and any(
            names[s] - names[written[0]] & asked_terms for s in names if s != written[0]
        ):
            written = []  # the story writes one, the question names another's words
    if len(written) == 1:
        return float(written == [unit.section])
    factors = _as_platform(factors, said)
    own = names[unit.section] - set().union(*(n for s, n in names.items() if s != unit.section))
    others = [n - names[unit.section] for s, n in names.items() if s != unit.section]
    mine = fsum(factors.get(t, 0.0) for t in own)
    rival = max((fsum(factors.get(t, 0.0) for t in other) for other in others), default=0.0)
    return 1.0 if mine > rival else 0.0


def _condition(article: SourceArticle, unit: Unit) -> set[str]:
    """Terms of the case a procedure's intro says it is for ("Use this when the machine is online
    and shows as connected in the app"): a message that tells its case ("It's still online and
    showing as connected in my app") names that procedure, not the one "when the app can't reach
    the machine". A case told by what is not so ("Use this if your machine isn't connected to
    the app") is not named by its words ("it's connected to the app")."""
    blocks = article.sections[unit.section].blocks
    return set().union(
        *(
            _text_terms(t)
            for t in intro(blocks, unit.block)
            if _CONDITION.match(plain(t)) and not _DENIAL.search(t)
        )
    )


def _as_platform(factors: dict[str, float], said: str) -> dict[str, float]:
    """How much the message names each procedure's words, with a phone's maker as its platform
    ("on my Samsung": "On Android") and without the brand of the app or plan the message is about
    ("every menu in the Kettleby app" is not "billed by Kettleby"). ``said``: the message's words,
    padded as ``_contrast`` takes them."""
    branded = _before_products(said)
    out = {t: w for t, w in factors.items() if t not in branded}
    for word, (platform,) in _PLATFORMS.items():
        if f" {word} " in said:
            for term in terms(platform):
                out[term] = max(out.get(term, 0.0), *(factors.get(t, 0.0) for t in terms(word)))
    return out


@lru_cache(maxsize=1024)  # once per message, not per procedure compared
def _before_products(said: str) -> frozenset[str]:
    """The terms whose every word in the message names the app or a product ("the Kettleby app",
    "Kettleby Business"): it comes just before such a word."""
    words = said.split()
    before, elsewhere = set(), set()
    for n, word in enumerate(words):
        named = n + 1 < len(words) and words[n + 1] in _PRODUCT_WORDS
        (before if named else elsewhere).update(terms(word))
    return frozenset(before - elsewhere)


def answer(question: Question, sources: Sources) -> Answer | None:
    """The reply built around the best unit; None when no unit holds any of the question.

    More units join greedily, each only when it holds a part of the question the reply does not
    yet hold (a question in two parts gets both), a second article only when nearly as good."""
    ranked = score_units(question, sources)
    if not ranked:
        return None
    best = _answering(question, ranked)
    # "Which buttons do I press?" in a message whose story names a schedule's words ("changed
    # all the cup sizes"): the procedure that holds four times more of the message, not the
    # first article's (their scores tie on the bonuses of rank and of a procedure asked for)
    if best.unit.kind == "steps":
        wordier = _wordier(best, [s for s in ranked if s.unit.kind == "steps"])
        best = wordier if wordier.article is not best.article else best
    # a row that only sends the reader to another of the sources ("E4 | No water flow | Follow
    # the steps in *Error E4: no water flow*"): that article answers, from its best unit; the
    # row still counts against the reply's units (what it would have added is not added)
    max_units = MAX_UNITS
    if best.unit.kind == "row" and not (  # "What does E4 mean?": the row's "No water flow" does
        _MEANING_ASKED.search(question.latest)  # (unless the message quotes it already)
        and not _cells_written_out(best.unit.text, normalise(plain(question.latest)))
    ):
        followed = _followed(best, [best.unit.text], sources, ranked)
        if followed is not None:
            best = next((s for s in ranked if s.article is followed.article), followed)
            max_units -= 1
    picked = [best]
    composed = {id(best): _compose(best, question)}
    excerpt = _excerpt(best, ranked, set(question.weights(sources)))
    if excerpt:
        best = excerpt[0]
        picked = excerpt
        composed = {id(best): _excerpt_parts(excerpt)} | {id(s): [] for s in excerpt[1:]}
    # A procedure the article sends a case to ("If you change your router …, remove it from the
    # app and add it again using the steps above"): that case, when the question is it, first.
    first = _case_for(best, ranked, question.weights(sources), question.aliases)
    if first is not None:
        picked, best = [first, best], first
        composed[id(first)] = _compose(first, question)
    # A procedure the thread's last answer gave is not given again: a follow-up gets what it
    # asks, not the steps it follows up.
    said = question.answered_terms

    def told(unit: Scored) -> bool:
        return bool(said) and _already_said(unit.article, unit.unit, said)

    negated = question.negated
    colours = _colours(question)
    off_colour = {id(a): _off_sections(a, question, colours) for a in sources.articles}
    switched = _switch_asked(question)

    def contradicts(unit: Scored) -> bool:  # "glowing purple": not the cause that "blinks white";
        # "How do I switch it on?": not "Turning it off"
        return unit.unit.section in off_colour[id(unit.article)] or _switched_other_way(
            unit.article, unit.unit, switched
        )

    # the items a row's key labels ("- **E5:** …", quoted after the row): their list is not
    # quoted again, whole
    listed = "\n".join(composed[id(best)]) if best.unit.kind == "row" else ""

    def quoted_items(unit: Scored) -> bool:
        block = unit.article.sections[unit.unit.section].blocks[unit.unit.block]
        return (
            bool(listed)
            and block.kind == "bullets"
            and any(f"- {i}" in listed for i in block.items)
        )

    every = ranked  # … with the units of the sections the message's other symptom rules out
    codes_said = question.codes
    ranked = [
        s
        for s in ranked
        if s is best
        or not (
            told(s)
            or _ruled_out(negated, s)
            or contradicts(s)
            or quoted_items(s)
            # "E9 on the screen …": not "**E5:** the drawer sensor counts pucks …"
            or (codes_said and _other_code(s.unit, codes_said))
        )
    ]
    # Further units must answer a part of what is asked: the story around the question ("I just
    # bought a 3-pack") is context for choosing, not something to answer with more passages.
    asked = question.asked_weights(sources)
    parts_asked = question.asked_parts(sources)
    order = _first_said(question.latest)
    aliases = question.aliases
    covered = _covered(asked, [(best.article, best.unit)], aliases)
    quoted = normalise(plain(" ".join(composed[id(best)])))
    # the words of the lists the reply quotes (whole, for one item: "The frothing tip is not
    # dishwasher safe" beside the milk jug's item), which a further unit need not add
    listed = frozenset(_listed_terms(picked, composed))

    def take(unit: Scored) -> None:
        """One more unit in the reply: composed, and what the reply now quotes and holds."""
        nonlocal quoted, covered, listed
        if unit.unit.kind == "sentence" and _case_not_said(unit.unit.text, question):
            return  # "Cancelling during a free trial …" for a plan that renews
        picked.append(unit)
        composed[id(unit)] = _compose(unit, question)
        quoted += " " + normalise(plain(" ".join(composed[id(unit)])))
        covered = _covered(asked, [(p.article, p.unit) for p in picked], aliases)
        listed |= _listed_terms([unit], composed)

    # "How do I …" answered by a sentence of an article with one procedure: the sentence says
    # what, the procedure how, though its heading may not use the question's words ("Request your
    # export" for "how do I download all my data"): it follows the sentence.
    procedures = [s for s in ranked if s.unit.kind == "steps" and s.article is best.article]
    if (
        question.wants_steps
        and best.unit.kind != "steps"
        and not _INSTRUCTION.match(plain(best.unit.text))  # "Go to Settings and tap Turn off."
        and not _MENU_PATH.search(plain(best.unit.text))
        and len(procedures) == 1
        and sum(u.kind == "steps" for u in best.article.units) == 1
        and normalise(plain(procedures[0].unit.text)) not in quoted
        and not negated & _unit_terms(best.article, procedures[0].unit)
        # "To leave a Business organisation without deleting your own account, ask an admin …":
        # not the steps to delete it
        and not _without(best.unit.text) & _procedure_name(best.article, procedures[0].unit)
    ):
        take(procedures[0])
    # The answer sends the reader to another of the sources ("… make a privacy request. See *Your
    # privacy rights*"): that article's section the pointer names follows, so nobody has to look.
    followed = _followed(best, composed[id(best)], sources, ranked)
    if followed is not None and normalise(plain(followed.unit.text)) not in quoted:
        take(followed)
    case = _case_told(question, best, ranked)
    if case is not None and not told(case):
        take(case)
    case = _case_stated(question, best, ranked)
    if case is not None and not _in_reply(case, picked, quoted):
        take(case)
    case = _condition_met(question, best, ranked)
    if case is not None and not _in_reply(case, picked, quoted):
        take(case)
    case = _place_stated(question, best, ranked, picked, quoted)
    if case is not None:
        take(case)
    case = _outside_the_limit(question, best, ranked, picked, quoted)
    if case is not None:
        take(case)
    # "… start again from step 3." opening the reply: those steps next, not another procedure
    if best.unit.kind == "sentence" and _STEP_NAMED.search(best.unit.text):
        own = _own_steps(best)
        if own is not None and not _in_reply(own, picked, quoted):
            take(own)
    for other in [s for s in ranked[:MAX_CANDIDATES] if s is not best]:
        if _blocks(picked) >= max_units:
            break
        new_article = all(other.article is not p.article for p in picked)
        two_procedures = other.unit.kind == "steps" and any(p.unit.kind == "steps" for p in picked)
        if (
            _in_reply(other, picked, quoted)  # its block, or its words (a lead-in)
            or (excerpt and other.article is best.article)
            # "from monthly to yearly" (not its comparison of the two: "Yearly plans cost about
            # 17% less than paying monthly", which answers either way)
            or (_direction(other.article, other.unit, order) < 0 and not _compares(other))
            or two_procedures
            # another article's procedure only for a message that asks how ("We emptied the tank
            # … all I get is E4 … Where do I start?" is not asking how to descale)
            or (new_article and other.unit.kind == "steps" and not question.asks_how)
            or (
                new_article
                and (
                    len({p.article.index for p in picked}) == 2
                    or other.score < SECOND_ARTICLE_RATIO * best.score
                    # a procedure a "how"'s bonus lifts that holds half as much of the message
                    # ("Factory reset" for "what should I change?" about bitter coffee)
                    or other.coverage < SECOND_ARTICLE_COVERAGE * best.coverage
                )
            )
        ):
            continue
        # Another article adds a part only when neither the reply's units nor their titles and
        # headings hold it: "API rate limits › Team: 300" already answers "the API rate limit on
        # Team", and the same figure from the pricing page would only repeat it. Within an
        # article the headings do not count: its procedure may follow its summary.
        held = partial(_said if new_article else _covered, quoted=listed)
        before = held(asked, [(p.article, p.unit) for p in picked], aliases)
        gain = held(asked, [(p.article, p.unit) for p in [*picked, other]], aliases) - before
        if (
            gain >= SECOND_PART_GAIN
            and (
                not new_article
                or parts_asked
                or question.previous  # a thread's question leans on more than its own words
                or _adds_a_main_word(asked, picked, other, aliases)
            )
        ) or _answers_a_part(parts_asked, picked, other, held, aliases):
            take(other)
    # "… and then add it again using the steps above" quoted: those steps, for the message's phone
    for other in _steps_referred(question, picked, ranked):
        if len(picked) < max_units and not _in_reply(other, picked, quoted):
            take(other)
    # A question of several that no unit answers by its words ("will the app run on it?" where
    # the article says "works on iPhone … with iOS 16 or later"): its closest unit by meaning.
    for other in _parts_by_meaning(question, picked, ranked, sources, quoted):
        take(other)
    for other in _answers_to_each_question(question, picked, sources, quoted):
        take(other)
    last = _last_resort_left(question, picked, ranked, quoted)
    if last is not None:
        take(last)
        if _EXHAUSTED.search(question.latest):  # "after going through everything on your E4
            picked.insert(0, picked.pop())  # page": what is left opens the reply
    part = _part_described(picked, ranked, quoted)
    if part is not None:
        take(part)
    row = _row_the_reply_names(question, picked, ranked, quoted)
    if row is not None and len(picked) < max_units:
        take(row)
    prose = _prose_naming_the_row(best, picked, ranked, quoted)
    if prose is not None and len(picked) < max_units:
        take(prose)
    limit = _time_limit(question, picked, ranked, quoted)
    if limit is not None:
        take(limit)
    for other in _came_back(question, picked, ranked, quoted):
        if len(picked) < max_units:
            take(other)
    for other in _symptom_explained(question, picked, ranked, quoted):
        if len(picked) < max_units:
            take(other)
    cause = _cause_told(question, picked, every, quoted)
    if cause is not None:
        take(cause)
    change = _own_change(question, picked, ranked, quoted)
    if change is not None and len(picked) < max_units:
        take(change)
    change = _change_described(question, picked, ranked, quoted)
    if change is not None:
        take(change)
    rule = _labelled_rule(question, picked, ranked, quoted, sources)
    if rule is not None:
        take(rule)
    warning = _against_plan(question, picked, ranked, quoted)
    if warning is not None:
        take(warning)
    caution = _caution_for_fix(picked, quoted)
    if caution is not None:
        take(caution)
    # A quoted passage that names what to do ("For anything else, make a privacy request.") in
    # an article with a section on how to do it ("How to make a privacy request"): that section.
    for other in _how_to_sections(picked, composed, ranked):
        if not told(other):
            take(other)
    # Sections a reply needs beside its answer: the other side of "What's (not) covered", and
    # what to do before a procedure; each list of insertions is made on the list before it.
    for more in (partial(_both_sides, question, asked), partial(_prerequisites, asked, aliases)):
        for n, unit in more(picked, ranked):
            picked.insert(n, unit)
            composed[id(unit)] = _compose(unit, question)
    # … and what to do once the steps are done, after them ("Did that, and now the machine has
    # vanished from my app": "To use the machine again, connect it to Wi-Fi as if it were new.")
    for n, unit in _afterwards(picked):
        picked.insert(n, unit)
        composed[id(unit)] = [_paragraph(unit.article, unit.unit)]
    # … and, first, the sentence that corrects what the message believes: that sentence alone,
    # or with the one before it when it points back ("This export only contains …")
    for n, unit in _mistaken(question, picked, ranked):
        picked.insert(n, unit)
        composed[id(unit)] = [_with_antecedent(unit.article, unit.unit)]
    # … and the steps of the procedure the thread gave that a follow-up asks about ("Why on
    # earth does it need my location?"): those steps alone, in the article's numbering
    followed_up = _steps_followed_up(question, picked, every, sources, asked, aliases)
    if followed_up is not None:
        unit, lines = followed_up
        # … who is in the middle of it: not another of its article's procedures (the other
        # phone's steps)
        picked = [p for p in picked if p.unit.kind != "steps" or p.article is not unit.article]
        picked.insert(0, unit)
        composed[id(unit)] = lines
    _one_quote_per_list(picked, composed, question)
    _one_table_per_block(picked, composed)
    parts: list[str] = []
    used = [(p.article, p.unit) for p in picked]
    for n, scored in enumerate(picked):
        # what the reply says already is not said again: a section's heading, the list a note
        # belongs to, a procedure's closing note that opened the reply ("You can request one
        # export every 24 hours.")
        more = [p for p in composed[id(scored)] if not _said_already(p, parts)]
        if not more:
            continue
        if (
            n
            and scored.article is not picked[0].article
            and scored.article is not picked[n - 1].article
        ):
            parts.append(f"Also, from **{scored.article.title}** [{scored.article.index}]:")
        elif _citable(more[0]):
            more[0] = f"{more[0]} [{scored.article.index}]"
        elif not n or scored.article is not picked[n - 1].article:
            parts.append(f"From **{scored.article.title}** [{scored.article.index}]:")
        parts += more  # a further part of the same article: cited once, above
    parts = _without_repeats(parts)
    cited = list(dict.fromkeys(p.article.index for p in picked))
    used_words = question.weights(sources, ruled_out=False)  # the KB knows them, or does not
    evidence = {
        "answer_coverage": round(covered, 4),
        "latest_answer_coverage": round(
            _covered(Question(question.latest).weights(sources), used, aliases), 4
        ),
        "unit_score": round(best.score, 4),
        "unit_coverage": round(best.coverage, 4),
        "answer_in_chunk": float(best.article.in_chunk(best.unit)),
        "answer_rank": float(best.article.rank),
        "runner_up_ratio": round(ranked[1].score / best.score, 4) if len(ranked) > 1 else 0.0,
        "answer_kind_steps": float(best.unit.kind == "steps"),
        "answer_kind_row": float(best.unit.kind == "row"),
        "questions_asked": float(len(question.asked_pieces()) or 1),
        "names_left_out": float(len(_names_left_out(question.latest, parts))),
        "unseen_terms": round(
            fsum(w for t, w in used_words.items() if t not in sources.idf)
            / (fsum(used_words.values()) or 1),
            4,
        ),
    }
    return Answer([_unescape(p) for p in parts], cited, used, evidence)


# Names joined in a message ("the API rate limit on Pro and Team", "Free, Team or Business")
_JOINED_NAMES = re.compile(
    r"\b([A-Z][\w-]+)(?:\s*,\s*|\s+(?:and|or|&|vs\.?|versus)\s+)(?=([A-Z][\w-]+)\b)"
)


def _names_left_out(latest: str, parts: list[str]) -> list[str]:
    """Of two names the message joins, the one a reply that says the other never says: the
    reply answers half of "… on Pro and Team?" (a plan the help centre no longer sells), however
    sure its Team row is."""
    said = terms(plain(" ".join(parts)))
    left = []
    for match in _JOINED_NAMES.finditer(latest):
        names = [(name, terms(name)) for name in match.groups()]
        held = [bool(words) and words <= said for _, words in names]
        if held.count(True) == 1:
            left += [name for (name, words), h in zip(names, held, strict=True) if words and not h]
    return left


def _listed_terms(units: list[Scored], composed: dict[int, list[str]]) -> set[str]:
    """The terms of what the reply quotes for those of ``units`` that are list items."""
    return terms(
        " ".join(part for u in units if u.unit.kind == "bullets" for part in composed[id(u)])
    )


def _said_already(part: str, parts: list[str]) -> bool:
    """The reply holds this paragraph already (perhaps with its citation after it)."""
    return any(p == part or p.startswith(f"{part} [") for p in parts)


def _ruled_out(negated: frozenset[str], unit: Scored) -> bool:
    """The unit holds most of what the message rules out (``negated``: "I don't want to close my
    account"): never added to a reply, though it may still be its answer when nothing else is."""
    if not negated:
        return False
    held = _stated_terms(unit.article, unit.unit)
    return len(negated & held) >= RULED_OUT_SHARE * len(negated)


def _time_limit(
    question: Question, picked: list[Scored], ranked: list[Scored], quoted: str
) -> Scored | None:
    """A message that says how old something is and asks whether it is still covered ("about
    20 months old … would the warranty cover a dodgy sensor?") and a reply that states no time:
    the answer's article's best unit that states one, so the customer can check their case. A
    machine "just over two years old" is not measured against "within 10 working days" that a
    claim's steps state: for years told, the reply must state years."""
    if (
        not _still_within(question)
        or _YEARS.search(quoted)
        or (not _YEARS.search(question.latest) and _DURATION.search(quoted))
    ):
        return None
    article = picked[0].article
    return next(
        (
            s
            for s in ranked
            if s.article is article
            and s.unit.kind != "steps"
            and _DURATION.search(plain(s.unit.text))
            and not _overlaps(s, picked)
        ),
        None,
    )


def _answering(question: Question, ranked: list[Scored]) -> Scored:
    """The unit a reply is built around: the best one, but for "How do I …" a procedure and for
    "how much …" a table row, unless something else is far better."""
    best = _procedure_introduced(ranked[0], ranked) or ranked[0]
    wanted = "steps" if question.asks_how else "row" if question.wants_value else None
    if wanted and best.unit.kind != wanted:
        # … from the same article; a value asked ("how many admins") and a best unit that
        # states no number at all: a row of another article may answer instead
        anywhere = wanted == "row" and not re.search(r"\d", best.unit.text)
        preferred = next(
            (
                s
                for s in ranked
                if s.unit.kind == wanted and (anywhere or s.article is best.article)
            ),
            None,
        )
        if (
            preferred is not None
            and preferred.score >= KIND_PREFERENCE * best.score
            and preferred.coverage >= 0.5 * best.coverage
            # "How do I turn it off?": the section headed *Turning it off*, not the article's
            # procedure *Set it up*, which the question does not name (its story may)
            and not (
                wanted == "steps"
                and _heading_names(best, question.asked)
                and not _heading_names(preferred, question.asked)
            )
        ):
            return preferred
        if wanted == "steps" and preferred is None:
            return _procedure_named(question, best, ranked) or best
    return best


def _procedure_introduced(best: Scored, ranked: list[Scored]) -> Scored | None:
    """The procedure whose intro the best unit is ("Use this when the machine is online and
    shows as connected in the app." for "It's still online … What do I tap?"): the procedure,
    which quotes its intro under its heading, answers."""
    if best.unit.kind != "sentence":
        return None
    blocks = best.article.sections[best.unit.section].blocks
    text = normalise(plain(best.unit.text))
    return next(
        (
            s
            for s in ranked
            if s.unit.kind == "steps"
            and s.article is best.article
            and s.unit.section == best.unit.section
            and s.unit.block > best.unit.block
            and text in normalise(plain(" ".join(intro(blocks, s.unit.block))))
        ),
        None,
    )


def _case_told(question: Question, best: Scored, ranked: list[Scored]) -> Scored | None:
    """The thread's customer asked how ("How do I cancel?"), the answer said it depends ("the
    line Billed by shows Apple, Google Play or Kettleby") and the message says which case is
    theirs while asking something else ("It says Google Play. I'm on a Pixel. … will my recipes
    still be there?"): the procedure for that case, of the article the reply answers from."""
    if (
        best.unit.kind == "steps"
        or not question.previous
        or not _HOW.search(question.previous)
        or _HOW.search(question.latest)
    ):
        return None
    article, answered = best.article, question.answered_terms
    if any(_steps_given(unit, answered) for unit in article.units):
        return None  # the answer gave steps: the message follows them up
    procedures = [s for s in ranked if s.unit.kind == "steps" and s.article is article]
    said = _padded_words(question.latest)
    factors = Question(question.latest).weights(_UNIFORM)
    return next(
        (
            s
            for s in procedures
            if _contrast(article, s.unit, factors, said)
            and _procedure_name(article, s.unit) & answered  # a case the answer named
        ),
        None,
    )


def _case_stated(question: Question, best: Scored, ranked: list[Scored]) -> Scored | None:
    """The message says which channel it is about ("I pay monthly for Plus through the App
    Store") and the answer's article has a section headed for that channel ("Subscriptions
    bought through Apple or Google") beside the answer's own ("Monthly plans", for any
    channel): that section's best unit too, since its rule overrides the answer's. The channel
    may be the thread's ("I signed up on my iPhone" … "can you just put it back on my card?"),
    and the rule a sentence of the article's opening ("If your subscription is billed by Apple
    or Google Play, change your payment method in your Apple ID … instead")."""
    if best.unit.kind == "steps" and not question.asked_pieces():
        return None
    article = best.article
    said = _NOT_CHANNEL.sub(" ", f"{question.previous} {question.latest}")  # "not through Apple"
    channels = _channels(terms(_phrased(said)) - question.negated)
    if not channels or _channels(_text_terms(" ".join(article.sections[best.unit.section].path))):
        return None
    seen = {best.unit.section}
    for s in ranked:
        n = s.unit.section
        if s.article is not article or n in seen:
            continue
        seen.add(n)  # a section's best unit
        heading = _text_terms(" ".join(article.sections[n].path[-1:]))
        if s.unit.kind != "steps" and channels & _channels(heading):
            return s
    # the opening's rule, for a message about two channels ("My personal Plus I took out … on my
    # iPhone … our office Business account, which we signed up for on my.kettleby.com") or one
    # that says where it subscribed ("I took Plus out inside the app on my Pixel"), not one that
    # names a phone in passing
    if len(channels) < 2 and not _SUBSCRIBED_ON.search(said):
        return None
    for s in ranked:
        condition = _IF.match(plain(s.unit.text)) if s.unit.kind == "sentence" else None
        if (
            s.article is article
            and condition is not None
            and not article.sections[s.unit.section].path
            and channels & _channels(_text_terms(condition.group(1)))
        ):
            return s
    return None


def _outside_the_limit(
    question: Question, best: Scored, ranked: list[Scored], picked: list[Scored], quoted: str
) -> Scored | None:
    """A message that asks what happens if a limit has passed ("If it's not covered can you still
    fix it?", "about two and a half years old … Am I completely out of luck?"): what the answer's
    article says for that case (*Outside the warranty*: "We still repair machines after the
    warranty ends, for a fixed fee")."""
    if not _PASSED.search(question.asked):
        return None
    sections = best.article.sections
    return _unquoted(
        best.article,
        ranked,
        picked,
        quoted,
        lambda s: bool((path := sections[s.unit.section].path) and _OUTSIDE.match(path[-1])),
    )


def _place_stated(
    question: Question, best: Scored, ranked: list[Scored], picked: list[Scored], quoted: str
) -> Scored | None:
    """The message says where the customer is ("I'm in Leeds", "Hola! I'm in Madrid") and a
    list item of the answer's article (a rule among the policy's rules) has a rule for that
    region ("Return shipping is **free for UK customers**. Customers in the EU, the US and Canada
    pay for return shipping"): that rule, which the reply does not hold yet, is the customer's. A
    UK city names the UK here only: a table's rows split the UK into zones ("UK mainland",
    "Northern Ireland, Scottish Highlands and Islands")."""
    regions = {
        region for pattern, names in PLACES if pattern.search(question.latest) for region in names
    }
    if in_great_britain().search(question.latest):  # "We're in Stockport", any town of 15,000
        regions.update(_UK)
    if not regions:
        return None
    said = re.compile(rf"\b({'|'.join(map(re.escape, sorted(regions)))})\b")
    return _unquoted(
        best.article,
        ranked,
        picked,
        quoted,
        lambda s: s.unit.kind == "bullets" and bool(said.search(plain(s.unit.text))),
    )


def _unquoted(
    article: SourceArticle,
    ranked: list[Scored],
    picked: list[Scored],
    quoted: str,
    wanted: Callable[[Scored], bool],
) -> Scored | None:
    """The best unit of ``article`` that ``wanted`` accepts and the reply does not hold yet."""
    return next(
        (
            s
            for s in ranked
            if s.article is article and wanted(s) and not _in_reply(s, picked, quoted)
        ),
        None,
    )


# "If you are selling the machine" is met by "Selling my Brew": a thing the customer owns, named
# by its (capitalised) product name, is the article's machine or device
_DEVICE = frozenset(_all_terms("machine device appliance"))
_OWNED_NAME = re.compile(r"\b(?:my|our)\s+[A-Z][\w-]+")


def _condition_met(question: Question, best: Scored, ranked: list[Scored]) -> Scored | None:
    """A sentence or list item of the answer's article whose "If …" the message says happened,
    in words of its own ("was in a rush so skipped the soaking bit": "If you skip the soak in
    step 1, air trapped in the cartridge can stop water from flowing for the first few cups"):
    what follows from it is what the customer sees. Its condition's words (not a step's
    number), two at least, are all said in one sentence, none ruled out."""
    pieces = [
        _with_synonyms(terms(_phrased(p))) | (_DEVICE if _OWNED_NAME.search(p) else frozenset())
        for p in _pieces(question.latest)
    ]
    for s in ranked:
        if s.article is not best.article or s.unit.kind not in ("sentence", "bullets") or s is best:
            continue
        match = _IF.match(plain(s.unit.text))
        if match is None:
            continue
        # "If you change your router or your Wi-Fi password": the whole, or the first of its
        # alternatives, which holds its verb ("If you created your account with Sign in with
        # Apple or Sign in with Google" is not "signed up with my email, not Google")
        whole = match.group(1)
        for alternative in dict.fromkeys([whole, _OR.split(whole)[0]]):
            condition = {t for t in _text_terms(alternative) if not t.isdigit()} - _STEP_WORDS
            if (
                len(condition) >= 2
                and not condition & question.negated  # "with my email, not Google"
                # in the message's own words (not their aliases), in one of its sentences ("If
                # you're still signed in and just want a new password" is not "New phone. …
                # He's signed in on his iPad")
                and any(condition <= said for said in pieces)
            ):
                return s
    return None


def _with_synonyms(words: set[str]) -> set[str]:
    """The words and their one-word synonyms ("swapping our router": "change")."""
    return words | {alias for w in words for alias in _SYNONYM_TERMS.get(w, ())}


def _channels(words: set[str] | frozenset[str]) -> set[str]:
    """The channels the words name."""
    return {_CHANNELS[w] for w in words if w in _CHANNELS}


def _padded_words(text: str) -> str:
    """The text's words, lower-case, space-separated and padded with a space at each end: a
    phrase is written out in it when f" {phrase} " is in it."""
    return f" {' '.join(_WORDS.findall(normalise(plain(text))))} "


_STEP_NUMBER = re.compile(r"^\s*(\d+)[.)]")


def _steps_followed_up(
    question: Question,
    picked: list[Scored],
    ranked: list[Scored],
    sources: Sources,
    asked: dict[str, float],
    aliases: dict[str, tuple[frozenset[str], ...]],
) -> tuple[Scored, list[str]] | None:
    """A follow-up asking about steps of the procedure the thread's last answer gave ("I've
    just got to the network bit, typed in the password, and now my phone's popped up a message
    saying the network has no internet access"): the steps that hold ``STEP_ASKED_SHARE`` of
    what it says (its story tells which step: the weights of its own words, then ``asked``,
    those of what it asks), each as "Step N: …" under the procedure's heading (the customer has the
    procedure; quoting it whole again answers nothing), first in the reply. Only when a step
    holds more of the message, and more of its questions, than the reply's first unit does: a
    step that holds less is one the customer did ("I've put the backup codes in my password
    manager - can I just keep using one of those?": not "Step 5: Save your 10 backup codes …")."""
    answered = question.answered_terms
    if not question.previous or not answered:
        return None
    given = [s for s in ranked if _steps_given(s.unit, answered)]
    if not given:
        return None
    procedure = max(given, key=lambda s: len(_text_terms(s.unit.text) & answered))
    if any(p.unit is procedure.unit for p in picked):
        return None
    block = procedure.article.sections[procedure.unit.section].blocks[procedure.unit.block]
    said = Question(question.latest).weights(sources)  # only for a thread that gave steps
    held = [set(_text_terms(item)) for item in block.items]
    shares = [coverage_of(said, words, aliases=aliases) for words in held]
    steps = [n for n, share in enumerate(shares) if share >= STEP_ASKED_SHARE]
    first = picked[0]
    first_held = _unit_terms(first.article, first.unit) | first.article.context_terms(first.unit)
    if (
        not steps
        or max(shares) <= coverage_of(said, first_held, aliases=aliases)
        or max(coverage_of(asked, words, aliases=aliases) for words in held)
        <= coverage_of(asked, first_held, aliases=aliases)
    ):
        return None
    number = _STEP_NUMBER.match(block.markdown)
    start = int(number.group(1)) if number else 1
    heading = procedure.article.sections[procedure.unit.section].path[-1:]
    lines = [
        *(f"**{h}**" for h in heading),
        *(f"Step {start + n}: {block.items[n]}" for n in steps),
    ]
    return procedure, lines


def _steps_given(unit: Unit, answered: frozenset[str]) -> bool:
    """The thread's last answer holds most of the words of the procedure's steps, in its own
    words ("tap your machine and go to Settings > Maintenance > Descale. Take the water filter
    out …"), not only the words that name which procedure is whose."""
    if unit.kind != "steps":
        return False
    held = {t for t in _text_terms(unit.text) if not t.isdigit()}
    return bool(held) and len(held & answered) >= STEPS_GIVEN_SHARE * len(held)


def _procedure_named(question: Question, best: Scored, ranked: list[Scored]) -> Scored | None:
    """ "How do I cancel?" in a message whose words rank a row of the plans table first ("… 80
    recipes … what happens to them once I'm back on Free?"), an article with no procedure: the
    procedure of another source that names what the "how" asks to do and the best unit does not,
    when nearly as good."""
    how = [p for p in _asked_pieces(question.latest) if _HOW.search(p)]
    # the questions among them, when some are ("I'd like to close my account for good - we're
    # moving abroad … Then what are the actual steps to delete it?"): a request tells a story
    how = [p for p in how if _QUESTION.search(p)] or how
    named = set().union(*(terms(p) for p in how))
    named -= _GOING  # "How do I go about that?" names nothing to do
    if not named or (best.unit.kind != "row" and named <= _stated_terms(best.article, best.unit)):
        return None  # "Use the following command to download an entire bucket": it says how
        # (a table's row never does: "Until you delete them" for "the steps to delete it?")
    aliases = question.aliases  # "on the website": the section "On the web"
    procedures = [
        s
        for s in ranked
        if s.unit.kind == "steps"
        and s.score >= OTHER_PROCEDURE_RATIO * best.score
        and all(
            _holds(t, _unit_terms(s.article, s.unit) | _procedure_name(s.article, s.unit), aliases)
            for t in named
        )
    ]
    # of an article's several ("On iPhone", "On Android", "On the web"), the one that holds most
    # of the message ("through the App Store on my iPhone")
    return max(procedures, key=lambda s: s.coverage, default=None)


def _both_sides(
    question: Question, weights: dict[str, float], picked: list[Scored], ranked: list[Scored]
) -> list[tuple[int, Scored]]:
    """ "Is it covered by the warranty?" asked of an article whose sections list both sides
    ("What's covered" / "What's not covered"): both short sections, whichever the reply quotes
    first, so the customer sees the exclusion that applies (or that none does). Where to insert
    each into ``picked``. ``weights``: what the question asks (``Question.asked_weights``)."""
    article = picked[0].article
    headings = [s.path[-1] if s.path else "" for s in article.sections]
    yes_no = " ".join(p for p in _pieces(_phrased(question.latest)) if _YES_NO.search(p))
    asked = terms(yes_no) & set(weights)
    for yes, no in _sides(tuple(headings)):
        if not asked & _text_terms(headings[yes]) or any(
            _section_words(article, s) > SECTION_WHOLE_WORDS for s in (yes, no)
        ):
            continue
        at = {p.unit.section: n for n, p in enumerate(picked) if p.article is article}
        found = [_first_of(ranked, article, side) for side in (yes, no) if side not in at]
        missing = [s for s in found if s is not None]
        if not missing:
            return []
        if yes in at:  # the exclusions follow what is covered
            return [(at[yes] + 1, missing[0])]
        if no in at:
            return [(at[no], missing[0])]
        return [(1 + k, s) for k, s in enumerate(missing)]
    return []


def _mistaken(
    question: Question, picked: list[Scored], ranked: list[Scored]
) -> list[tuple[int, Scored]]:
    """What the message believes and the article says is not so ("I deleted the app because I
    thought that would stop Plus": "Deleting the app from your phone does not cancel your
    subscription"; "the admin's export didn't have my recipes": "This export … not the
    personal recipes of team members"): that sentence first, with the one before it when it
    points back, so the customer learns why, then the answer. A sentence of the answer's
    article that denies (not a warning: "Don't unplug it …"), a good share of whose words the
    story around the question uses."""
    article = picked[0].article
    said = _asked_and_told(question.latest)[1]  # the story, where a belief is told
    aliases = question.aliases  # "I uninstalled the app": "Deleting the app … does not …"
    said |= {t for term in said for other in aliases.get(term, ()) for t in other}
    if said & _PHONES:  # "deleted the Kettleby app off my Pixel": "… from your phone"
        said |= _all_terms("phone")
    best, most = None, 0.0
    # a procedure's intro ("Use this when the app can't reach the machine"): quoted with it
    intros = {
        (p.unit.section, b)
        for p in picked
        if p.unit.kind == "steps" and p.article is article
        for b in range(p.unit.block)
    }
    for s in ranked:
        if (
            s.article is not article
            or s.unit.kind != "sentence"
            or _overlaps(s, picked)
            or (s.unit.section, s.unit.block) in intros
        ):
            continue
        text = plain(s.unit.text)
        own = _text_terms(text)
        shared = len(own & said)
        if (
            _opening_term(text) in said  # what it says is not so: "Deleting the app …"
            and _DENIES.search(text)
            and not _WARNING.search(text)
            and shared >= MISTAKEN_MIN_SHARED
            and (share := shared / len(own)) >= MISTAKEN_SHARE
            and share > most
        ):
            best, most = s, share
    return [(0, best)] if best is not None else []


def _opening_term(text: str) -> str | None:
    """The first word of a text that is a term ("Deleting the app …": "delet")."""
    for word in _WORDS.findall(text):
        found = terms(word)
        if found:
            return next(iter(found))
    return None


def _came_back(
    question: Question, picked: list[Scored], ranked: list[Scored], quoted: str
) -> list[Scored]:
    """A code the message says came back ("it flashed E5 at me again") in a reply quoting the
    codes' rows: the item of the article's list for a code that returns ("If the same code
    returns straight after you clear it: … **E5:** the drawer sensor counts pucks …") whose
    label names a code the message names, once (the list is quoted whole)."""
    rows = [p for p in picked if p.unit.kind == "row"]
    if not rows or not _CAME_BACK.search(question.latest):
        return []
    said = terms(question.latest)
    for s in ranked:
        if s.article is not rows[0].article or s.unit.kind != "bullets":
            continue
        label = _LABELLED.match(s.unit.text)
        blocks = s.article.sections[s.unit.section].blocks
        if (
            label
            and terms(label.group(1)) & said
            and _RETURNS.search(_lead_in(blocks, s.unit.block) or "")
            and not _in_reply(s, picked, quoted)
        ):
            return [s]
    return []


def _own_change(
    question: Question, picked: list[Scored], ranked: list[Scored], quoted: str
) -> Scored | None:
    """A setting the message says the customer changed ("put the temperature up to High"): the
    sentence of the answer's article that names the setting, the value and the most of the
    message's other words ("Dark roasts turn bitter at high temperatures"), unless the reply
    quotes it already: the customer's own change may be the cause."""
    changes = [
        (terms(m.group(1)), terms(m.group(2))) for m in _CHANGED_TO.finditer(question.latest)
    ]
    changes = [(setting, value) for setting, value in changes if setting and value]
    if not changes:
        return None
    said = terms(question.latest)
    best, most = None, 0
    for s in ranked:
        if s.article is not picked[0].article or s.unit.kind != "sentence":
            continue
        held = _text_terms(s.unit.text)
        for setting, value in changes:
            others = len((said - setting - value) & held)
            if setting & held and value <= held and others > most:
                best, most = s, others
    if best is None or _in_reply(best, picked, quoted):
        return None
    return best


def _change_described(
    question: Question, picked: list[Scored], ranked: list[Scored], quoted: str
) -> Scored | None:
    """A procedure for a change quoted ("How to change your plan") and a section of its article
    whose text gives the change the message asks for as an example, "from A to B" with A named
    before B ("I'm on Plus … Business would suit us": *Upgrading*, "for example, from Plus to
    Business"): that section's first unit too, since it says when the change takes effect and
    what it costs."""
    article = next((p.article for p in picked if p.unit.kind == "steps"), None)
    if article is None:
        return None
    order = _first_said(question.latest)
    for n, section in enumerate(article.sections):
        text = " ".join(b.markdown for b in section.blocks if b.kind != "steps")
        if not any(
            _said_order(terms(m.group(1)), terms(m.group(2)), order) > 0
            for m in _FROM_TO.finditer(plain(text))
        ):
            continue
        first = next((s for s in ranked if s.article is article and s.unit.section == n), None)
        if first is not None and not _in_reply(first, picked, quoted):
            return first
        return None
    return None


def _labelled_rule(
    question: Question, picked: list[Scored], ranked: list[Scored], quoted: str, sources: Sources
) -> Scored | None:
    """A list of rules in the answer's article, each item opening with what it is about in bold
    ("**Coffee beans, descaler and water filters** can only be returned unopened"), and a
    message that names one of those things plainly and asks what the rule is about ("opened the
    beans … Can I send the rest back?"): the item for the customer's thing, unless quoted."""
    article = picked[0].article
    asked = set(question.asked_weights(_UNIFORM))
    # a thing no title names ("beans"; not "Brew", which the help centre is about)
    plainly = _said_plainly(question.latest).difference(
        *(_text_terms(a.title) for a in sources.articles)
    )
    for s in ranked:
        if s.article is not article or s.unit.kind != "bullets" or s.unit.item is None:
            continue
        label = _BOLD_LABEL.match(s.unit.text)
        if not label or label.group(1).rstrip().endswith((".", ":", "!")):
            continue  # no label, or a step ("**Cancel any paid subscription first.**")
        named = _text_terms(label.group(1))
        if named & plainly and (_unit_terms(article, s.unit) - named) & asked:
            return None if _in_reply(s, picked, quoted) else s
    return None


def _symptom_explained(
    question: Question, picked: list[Scored], ranked: list[Scored], quoted: str
) -> list[Scored]:
    """What the message says the machine won't do ("it won't let me make a coffee", "the coffee
    buttons don't do anything") beside an answer that does not say why: the best sentence or
    item of the answer's article that names all of it, at least ``SYMPTOM_MIN_TERMS`` things
    ("Don't make drinks during the cycle; the machine locks the drink buttons until the rinse
    is done")."""
    aliases = question.aliases
    told = [
        terms(_SYMPTOM.sub(" ", clause))
        for piece in _pieces(question.latest)
        if not _ASKING.search(piece)
        for clause in _SYMPTOM_CLAUSES.split(piece)
        if _SYMPTOM.search(clause)
    ]
    told = [t for t in told if len(t) >= SYMPTOM_MIN_TERMS]
    if not told or _symptom_said(told, quoted, aliases):
        return []
    for s in ranked:
        if (
            s.article is picked[0].article
            and s.unit.kind in ("sentence", "bullets")
            and not _in_reply(s, picked, quoted)
            and _symptom_said(told, s.unit.text, aliases)
        ):
            return [s]
    return []


def _cause_told(
    question: Question, picked: list[Scored], ranked: list[Scored], quoted: str
) -> Scored | None:
    """A second thing the message tells of ("… maybe a spoonful, and the steam wand kept
    dripping onto the counter for a bit after each one") that a section heading of the answer's
    article names as a cause, every word of it ("Cause: the steam wand is dripping"): that
    section's best unit, when the reply does not quote the section yet, though the message's
    first symptom ("water under the Brew") rules out the sections under another ("Water in
    front"). Not a thing it denies ("the drip tray isn't full"). Or a cause whose section names
    the colour of an icon the message says the machine shows ("the orange drop thing has been
    on": "If the orange drop icon is showing, descale the machine.")."""
    article = picked[0].article
    aliases = question.aliases
    colours = _shown(question.latest)
    told = [
        terms(_phrased(clause))
        for piece in _pieces(question.latest)
        if not _ASKING.search(piece)
        for clause in _SYMPTOM_CLAUSES.split(piece)
        if not _DENIED.search(clause)  # "the drip tray isn't full": not that cause
    ]
    quoting = {p.unit.section for p in picked if p.article is article}
    for n, section in enumerate(article.sections):
        if n in quoting or not section.path:
            continue
        heading = _text_terms(section.path[-1])
        named = heading - _HEADING_LABELS
        shown = colours and any(
            colours & _unit_terms(article, u) for u in article.units if u.section == n
        )
        if (
            heading & _HEADING_LABELS
            and len(named) >= CAUSE_MIN_TERMS
            and (shown or any(all(_holds(t, clause, aliases) for t in named) for clause in told))
        ):
            unit = _first_of(ranked, article, n)
            if unit is not None and not _in_reply(unit, picked, quoted):
                return unit
    return None


def _symptom_said(told: list[set[str]], text: str, aliases: dict) -> bool:
    """The text names every thing of one of the symptoms told."""
    held = _text_terms(plain(text))
    return any(all(_holds(t, held, aliases) for t in symptom) for symptom in told)


def _against_plan(
    question: Question, picked: list[Scored], ranked: list[Scored], quoted: str
) -> Scored | None:
    """What the message says the customer means to do ("Tempted to just run it through the
    dishwasher") and the answer's article says not to ("The frothing tip is not dishwasher
    safe"): the sentence or item of that article that denies it, sharing a word of the plan and
    at least ``PLAN_MIN_SHARED`` of the message's ("The tip's off …"), the most of them."""
    pieces, _ = _asking(question.latest)
    plan = set().union(*(terms(p) for p in pieces if _PLAN.search(p) and not _ASKING.search(p)))
    if not plan:
        return None
    said = terms(question.latest)

    def shared(s: Scored) -> tuple[int, int]:  # words of the plan, of the whole message
        own = _text_terms(s.unit.text)
        return len(own & plan), len(own & said)

    denying = [
        s
        for s in ranked
        if s.article is picked[0].article
        and s.unit.kind in ("sentence", "bullets")
        and _DENIES.search(plain(s.unit.text))
        and not _in_reply(s, picked, quoted)
    ]
    best = max(denying, key=shared, default=None)  # the first of equals
    if best is None:
        return None
    of_plan, of_message = shared(best)
    return best if of_plan and of_message >= PLAN_MIN_SHARED else None


def _caution_for_fix(picked: list[Scored], quoted: str) -> Scored | None:
    """A fix the reply quotes ("**Fix:** turn the grind dial one step finer.") and what the
    answer's article says about doing it ("Only turn the dial while the grinder is running,
    otherwise you can jam the burrs."): the customer needs it before they turn the dial."""
    article = picked[0].article
    fixes = [
        _text_terms(plain(u.text))
        for u in article.units
        if u.kind == "sentence" and _FIX.match(u.text) and normalise(plain(u.text)) in quoted
    ]
    for unit in article.units:
        caution = _CAUTION.match(plain(unit.text)) if unit.kind == "sentence" else None
        if (
            caution
            and any(terms(caution.group(1)) <= fix for fix in fixes)
            and normalise(plain(unit.text)) not in quoted
        ):
            return Scored(0.0, 0.0, article, unit)
    return None


def _with_antecedent(article: SourceArticle, unit: Unit) -> str:
    """A sentence alone, or with the sentence before it in its paragraph when it points back."""
    items = article.sections[unit.section].blocks[unit.block].items
    n = unit.item or 0
    return " ".join(items[_antecedent_start(items, n) : n + 1])


def _antecedent_start(items: tuple[str, ...], n: int) -> int:
    """Where a quote of sentence ``n`` starts: at the sentence before when ``n`` points back ("It
    is valid for 60 minutes" needs the sentence that says what "it" is), and before that one
    when it points back too ("If all the attempts fail" after "You keep full access during this
    time")."""
    while n > 0 and _REFERS_BACK.match(plain(items[n])):
        n -= 1
    return n


def _prerequisites(
    asked: dict[str, float], aliases: dict, picked: list[Scored], ranked: list[Scored]
) -> list[tuple[int, Scored]]:
    """A procedure whose article says what to check first ("Before you delete: cancel any paid
    subscription first …", "What you need"): that section before the steps, whole when short,
    else its item that holds most of what the message asks (``asked``: "will whoever buys the
    machine … be able to set it up on their own account?": "Machines are released"), the best
    ranked when none holds more. The last insertion comes first, so each index holds when they
    are made in order."""
    out = []
    for n, p in enumerate(picked):
        if p.unit.kind != "steps":
            continue
        article = p.article
        quoted = {q.unit.section for q in picked if q.article is article}
        section = next(
            (
                s
                for s, sec in enumerate(article.sections[: p.unit.section])
                if sec.path and _PREREQUISITES.match(sec.path[-1])
            ),
            None,
        )
        if section is None or section in quoted:
            continue
        if _section_words(article, section) <= BULLETS_WHOLE_WORDS:
            first = next(u for u in article.units if u.section == section)
            out.append((n, Scored(p.score, 0.0, article, first)))
        elif (best := _most_asked(ranked, p, section, asked, aliases)) is not None:
            out.append((n, best))
    return out[::-1]


def _most_asked(
    ranked: list[Scored], steps: Scored, section: int, asked: dict, aliases: dict
) -> Scored | None:
    """Of a section's units, the one that adds most of ``asked`` to the procedure ``steps``
    ("delete it in the app" is the procedure's; "the machine" the item's); the best ranked on a
    tie."""
    article = steps.article
    units = [s for s in ranked if s.article is article and s.unit.section == section]
    return max(
        units,
        key=lambda s: _covered(asked, [(article, steps.unit), (article, s.unit)], aliases),
        default=None,
    )


def _afterwards(picked: list[Scored]) -> list[tuple[int, Scored]]:
    """A procedure whose article says what to do once it is done, in a section after it ("After
    the reset: To use the machine again, connect it to Wi-Fi as if it were new."): that
    section's first paragraph, after the steps (once an article). The last insertion comes
    first, so each index holds when they are made in order."""
    out, seen = [], set()
    for n, p in enumerate(picked):
        article = p.article
        if p.unit.kind != "steps" or id(article) in seen:
            continue
        seen.add(id(article))
        quoted = {q.unit.section for q in picked if q.article is article}
        section = next(
            (
                s
                for s in range(p.unit.section + 1, len(article.sections))
                if (path := article.sections[s].path) and _AFTERWARDS.match(path[-1])
            ),
            None,
        )
        if section is None or section in quoted:
            continue
        units = [u for u in article.units if u.section == section]
        if units and not any(u.kind == "steps" for u in units):
            out.append((n + 1, Scored(p.score, 0.0, article, units[0])))
    return out[::-1]


def _paragraph(article: SourceArticle, unit: Unit) -> str:
    """The whole paragraph (or list) a unit belongs to."""
    return article.sections[unit.section].blocks[unit.block].markdown


@lru_cache(maxsize=256)
def _sides(headings: tuple[str, ...]) -> list[tuple[int, int]]:
    """Pairs of headings that differ by a negation: ("What's covered", "What's not covered")."""
    words = [frozenset(_WORDS.findall(h.lower().replace("n't", " not"))) for h in headings]
    return [
        (a, b)
        for a, yes in enumerate(words)
        for b, no in enumerate(words)
        if yes and "not" in no - yes and no - yes <= _NEGATION and not yes - no
    ]


def _how_to_sections(
    picked: list[Scored], composed: dict[int, list[str]], ranked: list[Scored]
) -> list[Scored]:
    """The sections headed "How to <do X>" of the reply's articles whose <do X> the reply's
    passages from that article name, and which the reply does not quote yet."""
    out: list[Scored] = []
    for article in {id(p.article): p.article for p in picked}.values():
        own = [p for p in picked if p.article is article]
        said = normalise(plain(" ".join(part for p in own for part in composed[id(p)])))
        quoted = {p.unit.section for p in own}
        for n, section in enumerate(article.sections):
            named = _HOW_TO.match(section.path[-1]) if section.path else None
            if named and n not in quoted and normalise(named[1]) in said:
                first = next((u for u in article.units if u.section == n), None)
                unit = _first_of(ranked, article, n) or (
                    Scored(0.0, 0.0, article, first) if first is not None else None
                )  # though it holds none of the question's words: the passage named it
                if unit is not None and unit not in out:
                    out.append(unit)
    return out


def _first_of(ranked: list[Scored], article: SourceArticle, section: int) -> Scored | None:
    return next((s for s in ranked if s.article is article and s.unit.section == section), None)


def _section_terms(article: SourceArticle, section: int) -> frozenset[str]:
    """The words of a section, its heading and its text."""
    found = article.sections[section]
    return _text_terms(" ".join([*found.path[-1:], *(b.markdown for b in found.blocks)]))


def _section_words(article: SourceArticle, section: int) -> int:
    return sum(len(b.markdown.split()) for b in article.sections[section].blocks)


def _case_for(
    best: Scored, ranked: list[Scored], weights: dict[str, float], aliases: dict
) -> Scored | None:
    """The paragraph of a procedure's article that sends a case to its steps ("If you change your
    router …, remove it from the app and then add it again using the steps above"), when it holds
    words of the question the procedure does not: its first sentence."""
    if best.unit.kind != "steps":
        return None
    steps = _unit_terms(best.article, best.unit)
    for unit in best.article.units:
        if unit.kind != "sentence" or not _STEPS_REFERRED.search(unit.text):
            continue
        block = best.article.sections[unit.section].blocks[unit.block]
        # (not the words that send it: "using the steps above" holds the setup "steps" asked for)
        held = _text_terms(_STEPS_REFERRED.sub(" ", " ".join(block.items)))
        if any(_holds(t, held, aliases) and not _holds(t, steps, aliases) for t in weights):
            opening = next(
                u
                for u in best.article.units
                if (u.section, u.block) == (unit.section, unit.block) and u.kind == "sentence"
            )
            score = next((r.score for r in ranked if r.unit is opening), best.score)
            return Scored(score, 0.0, best.article, opening)
    return None


def _refers_to_steps(article: SourceArticle, unit: Unit) -> bool:
    """A paragraph's sentence that sends its case to the article's steps ("Remove it from the app
    … and then add it again using the steps above")."""
    if unit.kind != "sentence":
        return False
    block = article.sections[unit.section].blocks[unit.block]
    return bool(_STEPS_REFERRED.search(" ".join(block.items)))


def _instruction(unit: Unit) -> bool:
    """A sentence that is a procedure of its own: an instruction that says where, by a menu path
    ("Go to **Settings > Account > Security** and tap **Turn off**.")."""
    text = plain(unit.text)
    return unit.kind == "sentence" and bool(_INSTRUCTION.match(text) and _MENU_PATH.search(text))


def _own_steps(sentence: Scored) -> Scored | None:
    """The procedure of the sentence's own section, when it has one only ("If you switch the
    machine off halfway through, start again from step 3." under *Descale on the machine*)."""
    article = sentence.article
    above = [u for u in article.units if u.kind == "steps" and u.section == sentence.unit.section]
    return Scored(sentence.score, sentence.coverage, article, above[0]) if len(above) == 1 else None


def _steps_referred(question: Question, picked: list[Scored], ranked: list[Scored]) -> list[Scored]:
    """A quoted paragraph that sends the reader to its article's steps ("Remove it from the app
    … and then add it again using the steps above"): the procedure the message names of the
    article's several ("I'm on an iPhone 13": "On iPhone"), or its only one."""
    said = _padded_words(question.latest)
    factors = question.weights(_UNIFORM)
    out: list[Scored] = []
    for p in picked:
        if p.unit.kind == "sentence" and _STEP_NAMED.search(p.unit.text):
            own = _own_steps(p)
            if own is not None:  # the section's own procedure, even if the thread gave it
                out.append(own)
            continue
        if not _refers_to_steps(p.article, p.unit):
            continue
        procedures = [s for s in ranked if s.article is p.article and s.unit.kind == "steps"]
        if any(_already_said(p.article, u, question.answered_terms) for u in p.article.units):
            continue  # the thread's answer gave the customer's steps ("I've got a Samsung")
        named = [s for s in procedures if _contrast(s.article, s.unit, factors, said)]
        if len(named) == 1 or (not named and len(procedures) == 1):
            out.append((named or procedures)[0])
    return out


def _unstructured(article: SourceArticle) -> bool:
    """A passage of plain prose: no headings, only paragraphs (a web page's text, a transcript)."""
    return all(not section.path for section in article.sections) and all(
        b.kind == "paragraph" for section in article.sections for b in section.blocks
    )


def _excerpt(best: Scored, ranked: list[Scored], wanted: set[str]) -> list[Scored]:
    """From a passage of plain prose, its sentences that hold most of the question (by words and
    meaning), within the budget, best first; empty for a structured article, whose sections,
    procedures and rows say where an answer starts and ends."""
    if best.unit.kind != "sentence" or not _unstructured(best.article):
        return []
    chosen, words = [], 0
    for s in ranked:
        if (
            s.article is not best.article
            or s.unit.kind != "sentence"
            or _title_line(s.unit.text)  # a heading or a menu line is not part of the answer
            or not _unit_terms(s.article, s.unit) & wanted  # nor one only its title matches
        ):
            continue
        size = len(s.unit.text.split())
        if words + size <= EXCERPT_WORDS or not chosen:
            chosen.append(s)
            words += size
    return chosen


def _excerpt_parts(excerpt: list[Scored]) -> list[str]:
    """The excerpt's best sentence (the direct answer) first, then the others in the passage's
    order, a paragraph's sentences together."""
    ordered = excerpt[:1] + sorted(
        excerpt[1:], key=lambda s: (s.unit.section, s.unit.block, s.unit.item or 0)
    )
    parts: list[str] = []
    last = None
    for s in ordered:
        where = (s.unit.section, s.unit.block)
        if where == last:
            parts[-1] += " " + s.unit.text
        else:
            parts.append(s.unit.text)
        last = where
    return parts


REPEAT_MIN_WORDS = 5  # a sentence this long said twice in a reply is said once
_CITATION_END = re.compile(r"\s*\[\d+\]$")
_FROM_LINE = re.compile(r"^(?:Also, f|F)rom \*\*.*\*\* \[\d+\]:$")


def _without_repeats(parts: list[str]) -> list[str]:
    """Each sentence of prose once: a unit quoted alone ("E4 means the machine's flow meter didn't
    detect water …") is not said again by the section quoted after it, nor a procedure's closing
    note by a paragraph the reply quotes later. The later copy goes; what is left of its paragraph
    stays, unless only a few words are ("Please have exact change."); tables, lists and steps are
    left whole. A heading or a "From **…**:" line left with nothing under it goes too."""
    seen: set[str] = set()
    out: list[str | None] = []  # None: a part said already, whole
    for part in parts:
        lines = []
        for line in part.split("\n"):
            if not _citable(line) or _FROM_LINE.match(line):
                lines.append(line)
                continue
            marker = _CITATION_END.search(line)
            body = line[: marker.start()] if marker else line
            said = sentences(body)
            kept = []
            for sentence in said:
                key = _normalised(sentence)
                if len(key.split()) >= REPEAT_MIN_WORDS and key in seen:
                    continue
                seen.add(key)
                kept.append(sentence)
            if len(kept) == len(said):
                lines.append(line)  # as it was written
            elif any(len(k.split()) >= REPEAT_MIN_WORDS for k in kept):
                lines.append(" ".join(kept) + (marker.group(0) if marker else ""))
        out.append("\n".join(lines) if lines else None)
    result = []
    for n, part in enumerate(out):
        if part is None:
            continue
        after = next((p for p in out[n + 1 :] if p is not None), None)
        # a heading whose part has gone, with nothing of its own after it
        if (
            n + 1 < len(out)
            and out[n + 1] is None
            and _heads(part)
            and (after is None or _heads(after))
        ):
            continue
        result.append(part)
    return result


def _heads(part: str) -> bool:
    """A part that only says what follows it: a "From **…**:" line, a bold heading ("**Free
    trials** [3]") or a short line that does not end a sentence ("How do I pay for my ride?")."""
    line = _CITATION_END.sub("", part.strip())
    return "\n" not in line and bool(
        _FROM_LINE.match(part.strip())
        or re.fullmatch(r"\*\*[^*]+\*\*", line)
        or (
            _citable(line)
            and len(line.split()) <= TITLE_WORDS
            and not line.endswith((".", "!", ":", "|"))
        )
    )


def _citable(part: str) -> bool:
    """A paragraph of prose can end in a citation marker; a list or table cannot."""
    first = part.lstrip()
    return not (first.startswith(("|", "```", "- ", "* ", "+ ")) or re.match(r"\d+[.)]\s", first))


# Markdown backslash escapes that only keep punctuation literal ("built\-in", "instance\."): a
# reply reads without them. Escapes that change meaning (emphasis, code, links, table pipes) stay.
_HARMLESS_ESCAPE = re.compile(r"\\([.\-()#+!{}~])")


def _unescape(markdown: str) -> str:
    r"""Drop harmless escapes, except near a line's start ("1\. ", "\# ", "\- "), where the
    escape stops the line from becoming a list item or a heading."""
    return "\n".join(
        line[:4] + _HARMLESS_ESCAPE.sub(r"\1", line[4:]) for line in markdown.split("\n")
    )


def _compose(best: Scored, question: Question) -> list[str]:
    """The paragraphs a reply quotes for this unit, whole."""
    article, unit = best.article, best.unit
    section = article.sections[unit.section]
    block = section.blocks[unit.block]
    listed = section.blocks[unit.block - 1] if unit.block else None
    if (
        unit.kind == "sentence"
        and listed is not None
        and listed.kind == "bullets"
        and unit.block == len(section.blocks) - 1
        and section.path
        and _section_words(article, unit.section) <= SECTION_WHOLE_WORDS
        and len(block.markdown.split()) <= FOLLOWING_NOTE_WORDS
    ):
        # the note that ends a short section under its list ("A reset does not erase your
        # recipes …" under what a reset erases) comes with its list, as a list with its note
        lead = _lead_in(section.blocks, unit.block - 1)
        return [
            *([lead] if lead else _heading_line(article, unit)),
            listed.markdown,
            block.markdown,
        ]
    if unit.kind == "sentence":
        parts = _sentences(article, unit, block, section.blocks)
        causes_asked = (
            question.wants_steps
            or _WHATS_WRONG.search(question.latest)
            or _COULD_THAT_BE_IT.search(question.latest)  # "could any of that be messing with it?"
        )
        if causes_asked and parts[:1] == _heading_line(article, unit):
            parts += _sibling_causes(article, unit, question, parts)
        return parts + _other_fixes(article, unit, question)
    if unit.kind == "row":
        return _rows(article, unit, block, question)
    if _long_list(best) and not _heading_asked(article, unit.section, question):
        return _list_items(best, _items_quoted(best, question))
    parts = (
        [*_heading_line(article, unit), *intro(section.blocks, unit.block)]
        if unit.kind == "steps"
        else []
    )
    lead = _lead_in(section.blocks, unit.block)
    if lead and lead not in " ".join(parts):
        parts.append(lead)
    elif unit.kind == "bullets" and not parts:
        # a list means what its heading says: "What's not covered" before "- Accidental damage"
        parts += _heading_line(article, unit)
    parts.append(block.markdown)
    note = section.blocks[unit.block + 1] if unit.block + 1 < len(section.blocks) else None
    if (
        unit.kind in ("steps", "bullets")
        and note is not None
        and note.kind == "paragraph"
        and len(note.markdown.split()) <= FOLLOWING_NOTE_WORDS
        and not _case_not_said(note.markdown, question)
    ):
        parts.append(note.markdown)  # "The reset link is valid for 60 minutes…", "The
        # warranty applies to machines bought new …" under the list of warranty periods
    return parts + _other_fixes(article, unit, question)


def _case_not_said(text: str, question: Question) -> bool:
    """A note for a state the customer never says they are in ("Cancelling during a free trial
    ends the trial straight away" for a Plus plan that takes payments)."""
    case = _STATE_CASE.match(plain(text))
    return case is not None and not _text_terms(case.group(1)) & _thread_terms(question)


def _thread_terms(question: Question) -> frozenset[str]:
    """The terms of the customer's last two turns, their phrases in the articles' words."""
    return _all_said(f"{question.previous} {question.latest}")


@lru_cache(maxsize=1024)  # asked once per unit scored
def _all_said(text: str) -> frozenset[str]:
    return frozenset(terms(_phrased(text)))


def _items_quoted(best: Scored, question: Question) -> list[int]:
    """Of a long list, the matching item; and, for a question that gives or asks a time ("I've
    had it two weeks"), the item that states the list's time limit, in list order."""
    unit = best.unit
    block = best.article.sections[unit.section].blocks[unit.block]
    items = [unit.item or 0]
    if (
        _DURATION.search(question.latest) or _TIME_ASKED.search(question.asked)
    ) and not _DURATION.search(plain(unit.text)):
        timed = [n for n, item in enumerate(block.items) if _DURATION.search(plain(item))]
        items = sorted({*items, *timed[:1]})
    return items


def _list_items(best: Scored, items: list[int]) -> list[str]:
    """These items of a long list, whole, under the list's lead-in (or its heading)."""
    article, unit = best.article, best.unit
    section = article.sections[unit.section]
    block = section.blocks[unit.block]
    lead = _lead_in(section.blocks, unit.block)
    listed = "\n".join(f"- {block.items[n]}" for n in items)
    return [*([lead] if lead else _heading_line(article, unit)), listed]


def _one_quote_per_list(
    picked: list[Scored], composed: dict[int, list[str]], question: Question
) -> None:
    """Items of one long list that several units of the reply quote ("30 days of delivery", then
    who pays for return shipping): quoted once, together, in list order, where the first is."""
    first: dict[tuple, Scored] = {}
    items: dict[tuple, list[int]] = {}
    for p in picked:
        if p.unit.kind != "bullets" or not _long_list(p):
            continue
        if _heading_asked(p.article, p.unit.section, question):
            continue  # quoted whole
        key = (id(p.article), p.unit.section, p.unit.block)
        first.setdefault(key, p)
        items[key] = sorted({*items.get(key, []), *_items_quoted(p, question)})
        if first[key] is not p:
            composed[id(p)] = []
    for key, p in first.items():
        composed[id(p)] = _list_items(p, items[key])


def _one_table_per_block(picked: list[Scored], composed: dict[int, list[str]]) -> None:
    """Rows of one table that several units of the reply quote ("Will my UK machine work in
    Spain? … how much does it draw on standby?": *Mains voltage*, then *Standby power*): one
    table, where the first is, with every quoted row in table order; a later row's stated value
    and notes stay where they answer (a note quoted already is not said twice)."""
    first: dict[tuple, tuple[Scored, str]] = {}
    for p in picked:
        if p.unit.kind != "row":
            continue
        block = p.article.sections[p.unit.section].blocks[p.unit.block]
        assert block.header is not None
        key = (id(p.article), p.unit.section, p.unit.block)
        head = "\n".join(block.header)
        table = next((t for t in composed[id(p)] if t.startswith(head)), None)
        if table is None:
            continue
        if key not in first:
            first[key] = (p, table)
            continue
        earlier, quoted = first[key]
        rows = {*quoted.splitlines()[2:], *table.splitlines()[2:]}
        merged = "\n".join([*block.header, *(r for r in block.items if r in rows)])
        parts = composed[id(earlier)]
        parts[parts.index(quoted)] = merged
        first[key] = (earlier, merged)
        composed[id(p)] = [t for t in composed[id(p)] if t != table]


def _other_fixes(article: SourceArticle, unit: Unit, question: Question) -> list[str]:
    """An error page of numbered causes ("Cause 1: Air in the water line", "Cause 2: …"), asked
    how to fix the error it names: after the cause that fits best, each other cause, what it is
    and its fix, in article order, within budget, leaving out what the customer says they have
    tried. Such a page says to work through its causes in order, and a story rarely tells them
    apart ("the tank's full and it hums": each cause's words hold "tank", their meaning is as
    close); each cause's sentence lets the customer tell which is theirs ("The small valve … can
    stick if coffee or milk residue gets on it"; measured: two more replies complete, none
    fewer, than the fixes alone)."""
    path = article.sections[unit.section].path
    # the page's "Symptom" section quoted (what the customer sees, and "work through the causes
    # below in order") for a message asking what is wrong: each cause follows, with its fix
    # ("… now it shows E4 … Have I wrecked it?": milk residue on the tank valve is one)
    symptom = (
        len(path) == 1
        and bool(_SYMPTOM_HEADING.match(path[0]))
        and not _EXHAUSTED.search(question.latest)  # "done literally everything on your page"
        and not question.wants_steps  # "how do I fix it?": the fixes, after the best cause's
    )
    if len(path) != 1 or not (symptom or (_NUMBERED_CAUSE.match(path[0]) and question.wants_steps)):
        return []
    title = _text_terms(article.title) - _text_terms("error problem issue")
    if not title & terms(f"{question.previous} {question.latest}"):
        return []  # the error the page is about is not the one asked about
    causes = {
        n: any(_FIX.match(block.markdown) for block in section.blocks)
        for n, section in enumerate(article.sections)
        if len(section.path) == 1 and _NUMBERED_CAUSE.match(section.path[0])
    }
    out: list[str] = []
    words = 0
    for n, fixed in causes.items():
        if n == unit.section or not fixed:
            continue
        section = article.sections[n]
        if question.tried and _tried_section(article, n, question):
            continue  # "I've already taken the filter out": not that fix again
        text = [b.markdown for b in section.blocks]
        size = sum(len(t.split()) for t in text)
        if words + size > CAUSES_LIST_WORDS:
            break
        out += [f"**{section.path[0]}**", *text]
        words += size
    return out


def _tried_section(article: SourceArticle, section: int, question: Question) -> bool:
    """The section (its last heading and text) says to do what the customer has tried."""
    got = _section_terms(article, section)
    return bool(_done_already(question.tried, got, _vocabulary(article), _UNIFORM))


def _sentences(article: SourceArticle, unit: Unit, block: Block, blocks) -> list[str]:
    """A short section's prose whole (a cause and its fix); else the answering sentence and what
    follows it in its paragraph, within the word budget."""
    prose = [b for b in blocks if b.kind == "paragraph"]
    if (
        len(prose) == len(blocks)
        and sum(len(b.markdown.split()) for b in prose) <= SECTION_WHOLE_WORDS
    ):
        return [*_heading_line(article, unit), *(b.markdown for b in prose)]
    items = block.items
    start = _antecedent_start(items, unit.item or 0)
    # "A "cup" is any drink …, including hot water and steam. A double espresso counts as two
    # cups.": a paragraph this short is one statement (not when it leads into a list)
    lead_in = items[-1].rstrip().endswith(":")
    if len(block.markdown.split()) <= SHORT_PARAGRAPH_WORDS and not lead_in:
        start = 0
    picked = [items[start]]
    words = len(picked[0].split())
    for sentence in items[start + 1 :]:
        if words + len(sentence.split()) > PROSE_BUDGET_WORDS:
            break
        picked.append(sentence)
        words += len(sentence.split())
    parts = [" ".join(picked)]
    if CONTINUE_PARAGRAPHS and picked[-1] == items[-1] and not picked[-1].rstrip().endswith(":"):
        for later in blocks[unit.block + 1 :]:  # the paragraphs that follow, whole, in budget
            size = len(later.markdown.split())
            if later.kind != "paragraph" or words + size > PROSE_BUDGET_WORDS:
                break
            parts.append(later.markdown)
            words += size
    following = blocks[unit.block + 1] if unit.block + 1 < len(blocks) else None
    if (
        picked[-1] == items[-1]
        and _INTRODUCES.search(picked[-1])
        and following is not None
        and (
            following.kind in ("steps", "bullets", "table")
            or (following.kind == "code" and following.markdown.count("\n") <= CODE_LINES)
        )
    ):
        # "… the following instance types:" and its list; "Use the following command to
        # download a bucket." and the command
        parts.append(following.markdown)
    elif len(picked) > 1 and picked[-1].rstrip().endswith(":") and len(parts) == 1:
        parts = [" ".join(picked[:-1])]  # a lead-in whose list is not quoted: not at the end
    if (
        len(parts) > 1
        and parts[-1].rstrip().endswith(":")
        and (following is None or following.kind == "paragraph" or parts[-1] != following.markdown)
    ):
        parts.pop()  # a paragraph that introduces what the budget left out
    while len(parts) > 1 and _title_line(parts[-1]):
        parts.pop()  # a plain-text heading ("Get More Out of Your Grocery Budget") whose text
        # the budget left out: nothing follows it in the reply
    return parts


def _title_line(paragraph: str) -> bool:
    """Headings written as plain or bold lines ("**Topics**") or a site's menu: every line short,
    with no closing punctuation."""
    text = _BOLD.sub(lambda m: m.group(1) or m.group(2), plain(paragraph))
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return bool(lines) and all(
        len(ln.split()) <= TITLE_WORDS
        and not re.search(r"[.!?:;,)\]\"'”’]$", ln)
        and not re.match(r"[|*+\-#>`]|\d+[.)]\s", ln)
        for ln in lines
    )


def _sibling_causes(
    article: SourceArticle, unit: Unit, question: Question, parts: list[str]
) -> list[str]:
    """A problem whose heading the question names ("Coffee tastes bitter or burnt") with its causes
    as short sections below it: the other causes too, whole, in article order, within budget (the
    customer cannot tell which one is theirs)."""
    path = article.sections[unit.section].path
    if len(path) < 2:
        return []
    parent = _text_terms(path[-2])
    asked = terms(f"{question.previous} {question.latest}")
    stated = question.stated
    negated = _negated(question.latest)  # ruled out (what was tried is judged apart, below)
    if not parent or (
        len(parent & asked) < 0.5 * len(parent)
        and not _symptom_named(article, unit.section, stated)  # "thin and sour": the sour one
    ):
        return []
    words = sum(len(p.split()) for p in parts)
    off_colour = _off_sections(article, question, _colours(question))
    out: list[str] = []
    siblings = [
        n
        for n, section in enumerate(article.sections)
        if n != unit.section and section.path[:-1] == path[:-1] and len(section.path) == len(path)
    ]
    # a cause the message names by a word no other part of the article holds ("I also have a
    # VPN on my phone") before the others, whatever its place
    # (in the article's words: "from the sofa … at the other end of the house": "too far away")
    plainly = _said_plainly(_phrased(question.latest))
    named = {n for n in siblings if _own_heading_words(article, n) & plainly}
    # … or by two words only its cause's description holds ("the machine's in the kitchen …
    # through two walls": "… a short range through kitchen walls"): told, so quoted whatever
    # the budget. A cause headed by what the machine isn't ("… isn't in pairing mode")
    # describes the state it lacks: named by a message that says the state ended ("it was
    # flashing blue but it's stopped now"), not by one that says it holds ("Blue light is
    # flashing")
    own = {n: _description_words(article, n) for n in siblings}
    described = {n: len(own[n] & plainly) >= 2 for n in siblings}
    lacking = {n for n in siblings if _NOT_STATE.search(article.sections[n].path[-1])}
    ended = {n for n in lacking if _state_ended(own[n], question.latest)}
    named |= {n for n in siblings if described[n] and (n not in lacking or n in ended)}
    # … and one whose state the message says holds ("The blue light is flashing") is ruled out
    holding = {n for n in siblings if _state_holds(article, n, question.latest)}
    for n in sorted(siblings, key=lambda n: n not in named):
        section = article.sections[n]
        if n in off_colour or n in holding:
            continue  # "glowing purple": not the cause whose light "blinks white"
        if question.tried and _tried_section(article, n, question):
            continue  # "tried it with the filter out": not that cause again
        if negated and len(negated & _section_terms(article, n)) >= RULED_OUT_SHARE * len(negated):
            continue  # "the rubber ring … looks perfect": not the cause of a damaged one
        size = _section_words(article, n)
        if any(b.kind != "paragraph" for b in section.blocks) or size > SECTION_WHOLE_WORDS:
            return []  # not a list of short causes
        if words + size > CAUSES_BUDGET_WORDS and n not in named:
            break
        out += [f"**{section.path[-1]}**", *(b.markdown for b in section.blocks)]
        words += size
    return out


_NEGATOR = re.compile(r"(?i)^(?:no|not|never|without|\w+n't)$")


@lru_cache(maxsize=4096)
def _said_plainly(text: str) -> frozenset[str]:
    """The message's terms, less those said with a "no" or "not" in the three words before ("no
    VPN", "so it's not super fresh"): what the customer has, not what they rule out."""
    words = _WORDS.findall(plain(text))
    return frozenset(
        t
        for n, word in enumerate(words)
        if not any(_NEGATOR.match(w) for w in words[max(0, n - 3) : n])
        for t in terms(word)
    )


_NOT_STATE = re.compile(r"(?i)\b(?:isn't|is not|aren't|are not|not)\b")
_ENDED = re.compile(
    r"(?i)\b(?:stopped|no longer|not \w+ any ?more|went (?:off|out)|gone (?:off|out)|"
    r"turned (?:itself )?off)\b"
)


def _state_holds(article: SourceArticle, section: int, latest: str) -> bool:
    """A cause headed by a state the machine lacks ("the machine isn't in pairing mode") whose
    description's own words the message says hold ("light's flashing blue"), and not that they
    ended ("it was flashing blue but it's stopped now"): not the customer's cause."""
    path = article.sections[section].path
    if not path or not _CAUSE_HEADING.match(path[-1]) or not _NOT_STATE.search(path[-1]):
        return False
    own = _description_words(article, section)
    return not _state_ended(own, latest) and len(own & _said_plainly(latest)) >= 2


def _state_ended(own: frozenset[str], latest: str) -> bool:
    """A sentence of the message says a state described by ``own`` words ended ("it was
    flashing blue but it's stopped now")."""
    return any(_ENDED.search(s) and own & _said_plainly(s) for s in _pieces(latest))


def _description_words(article: SourceArticle, section: int) -> frozenset[str]:
    """The words of a cause's description (not its **Fix:** lines) that no other part of its
    article holds."""
    found = article.sections[section]
    told = [
        line
        for b in found.blocks
        for line in b.markdown.splitlines()
        if not line.lstrip("*_ ").startswith("Fix")
    ]
    return _only_in(article, section, _text_terms(" ".join(told)))


def _own_heading_words(article: SourceArticle, section: int) -> frozenset[str]:
    """The words of a section's heading that no other part of its article holds ("VPN" in
    "Cause: a VPN or ad blocker is running"; not "phone", which other sections use too)."""
    return _only_in(article, section, _text_terms(article.sections[section].path[-1]))


def _only_in(article: SourceArticle, section: int, words: frozenset[str]) -> frozenset[str]:
    """Those of a section's words that neither the article's title nor its other sections
    hold."""
    return words.difference(
        _text_terms(article.title),
        *(_section_terms(article, n) for n in range(len(article.sections)) if n != section),
    )


def _rows(article: SourceArticle, unit: Unit, block: Block, question: Question) -> list[str]:
    """The table's header and the matching rows; the matching cell stated in a sentence when the
    question names one column (or the table has one value column)."""
    assert block.header is not None
    header_cells = table_cells(block.header[0])
    asked = terms(_phrased(f"{question.previous} {question.latest}")) - question.negated
    weights = dict.fromkeys(asked, 1.0)
    aliases = question.aliases
    row_scores = [coverage_of(weights, _text_terms(row), aliases=aliases) for row in block.items]
    best = row_scores[unit.item or 0]
    # The chosen row, and the rows nearly as close: however far down the table the chosen row
    # is, it stays; when more rows are that close than a reply shows, the words tell none of
    # them apart ("Support" among five rows that hold one word of the question each), and the
    # chosen row stands alone.
    item = unit.item or 0
    close = [n for n, s in enumerate(row_scores) if n != item and best > 0 and s >= 0.8 * best]
    rows = sorted([item, *close]) if len(close) < MAX_ROWS else [item]
    latest = terms(_phrased(question.latest))
    keys = [_text_terms(table_cells(row)[0]) for row in block.items]
    places = _aliases(question.latest)
    # The rows whose key the question names most of ("to the US": "United States and Canada").
    named_keys = [_key_named(latest, key, places) for key in keys]
    # a column's name names no row of its own in a clause ("the free version is plenty": the
    # Free column, not the "Free trial" row)
    columns = _text_terms(block.header[0]) - _text_terms(header_cells[0])
    most = max(named_keys, default=0)
    if not most and question.follow_up and question.answered:
        # "ok is there an amount where it's free?" after our answer about Northern Ireland: the
        # row that answer was about
        named_keys = [_key_named(question.answered_terms, key, {}) for key in keys]
        most = max(named_keys, default=0)
        if most:
            unit = _row_at(unit, block, named_keys.index(most))
    keyed = [n for n, k in enumerate(named_keys) if most and k == most]
    # A number the question gives that falls in a row key's range ("our water is 12 °dH" in
    # "Medium (8 to 14 °dH)"): that row, whatever else the words name.
    ranged = _rows_in_range(question.latest, [table_cells(row)[0] for row in block.items])
    if ranged:
        most, keyed = max(most, 1), ranged
        if (unit.item or 0) not in keyed:
            unit = _row_at(unit, block, keyed[0])
    said = normalise(plain(question.latest))
    # A cell of one row the message writes out ("The test strip showed 3 red squares", where
    # "1 red square" holds the same words and the Soft row a "3" of its own): that row.
    written_cells = [_cells_written_out(row, said) for row in block.items]
    written = [n for n, cells in enumerate(written_cells) if cells]
    # (rows "named" only by a word of the header — "which hardness level" — are not named)
    header_words = _text_terms(block.header[0])
    by_header = all(not (keys[n] & latest) - header_words for n in keyed)
    if len(written) == 1 and (not keyed or written[0] in keyed or by_header):
        most, keyed = max(most, 1), written
        unit = _row_at(unit, block, written[0])
    # Of rows whose keys hold the same words ("Maximum number of dataset groups", "… of datasets
    # in a dataset group"), the one the question writes out word for word.
    verbatim = [n for n in keyed if _key_written_out(block.items[n], said)]
    if verbatim and len(verbatim) < len(keyed):
        keyed = verbatim
        unit = _row_at(unit, block, keyed[0])
    # Of rows whose keys the question names alike ("hard" in "Hard" and "Very hard"), the ones
    # whose other cells hold more of it ("3 red squares").
    if len(keyed) > 1 and len({row_scores[n] for n in keyed}) > 1:
        top = max(row_scores[n] for n in keyed)
        keyed = [n for n in keyed if row_scores[n] == top]
        if (unit.item or 0) not in keyed:
            unit = _row_at(unit, block, keyed[0])
    # Two rows asked in one sentence ("what pump pressure …, and how many watts?"): a row whose
    # whole key the question names and shares no word with the chosen rows' keys joins them.
    chosen = frozenset().union(*(keys[n] for n in keyed))
    also = [
        n
        for n, key in enumerate(keys)
        if not key & chosen and _key_share(latest - header_words, key, places) == 1
    ]
    keyed = sorted(keyed + also) if keyed else keyed
    stated = [unit.item or 0]  # the rows whose asked cell is stated in a sentence
    # Two things asked in one question ("how many machines and how many schedules", "(a) my old
    # chats … (b) my order history"): the row each clause names most, when they name different
    # rows, each stated, in the order asked.
    named_rows = (
        _named_row(c, keys, question.negated | columns, places) for c in _clauses(question.latest)
    )
    clause_rows = list(dict.fromkeys(n for n in named_rows if n is not None))
    if len(clause_rows) > 1 and (unit.item or 0) in clause_rows + keyed:
        keyed = sorted({*keyed, *clause_rows})
        stated = clause_rows[:MAX_ROWS]
    if (unit.item or 0) in keyed:
        # more rows named than a reply shows: the chosen row and the rows the clauses name
        # ("what support do we get, and what reports?") before the rest, in table order
        first = dict.fromkeys([unit.item or 0, *clause_rows, *keyed])
        rows = sorted(list(first)[:MAX_ROWS])
        if (
            len(stated) == 1
            and len(rows) > 1
            and all(_key_share(latest, keys[n], places) == 1 for n in rows)
        ):
            stated = rows  # "one shows E6, the other E2: what does each mean?": each stated
    if _COMPARING.search(question.latest):  # "is it any cheaper if I pay for the whole year?":
        # the rows it compares with, whose keys differ from a chosen one's by a word ("per month")
        near = [n for n, key in enumerate(keys) if any(_near_keys(key, keys[r]) for r in rows)]
        rows = stated = sorted({*rows, *near})[:MAX_ROWS]
    # Nothing in the question tells the rows apart ("I'm in York, what does it cost?" where the
    # table lists "UK mainland"): a small table whole, rather than its first row as if it were
    # the answer.
    if not most and len(set(row_scores)) == 1 and len(block.items) <= WHOLE_TABLE_ROWS:
        return ["\n".join([*block.header, *block.items])]
    # A column is named by what sets it apart, not by the table's topic ("shipping" in a table
    # of shipping rates), or by all its words ("Plus"); "how much" with none named asks the cost.
    # A column whose cell the message writes out is what the customer told ("The test strip
    # showed 3 red squares"), not what they ask.
    topic = article.context_terms(unit)
    told = written_cells[unit.item or 0]
    named = [
        c
        for c, cell in enumerate(header_cells)
        if c > 0
        and c not in told
        and ((_text_terms(cell) - topic) & latest or latest >= _text_terms(cell) != frozenset())
    ]
    if not named and _PRICE_ASKED.search(question.latest):
        named = [c for c, cell in enumerate(header_cells) if c > 0 and _text_terms(cell) & _PRICE]
    # "will it get to me tomorrow? what's the cut-off?": a time is asked, so the column that
    # states one ("Delivery time after dispatch"), not one a word of the story names ("If I
    # *order*"); with the cost when that is asked too ("European Union — Cost: £9.95; Delivery
    # time …"). Stated only for a row the question names: a row it never named would answer for
    # a place it is not ("Isle of Skye" is not "UK mainland"); the rows show it instead.
    timed = [c for c, cell in enumerate(header_cells) if c > 0 and _TIME_HEADER.search(cell)]
    also: list[int] = []
    if _TIME_ASKED.search(question.asked) and len(timed) == 1:
        if not most:
            named = []
        elif _PRICE_ASKED.search(question.latest) and len(named) == 1 and named != timed:
            also = timed
        else:
            named = timed
    column = named[0] if len(named) == 1 else None
    if (
        column is None
        and len(header_cells) == 2
        and _names(terms(question.latest), _row_key(unit), aliases)
    ):
        column = 1  # "Team | 300" asked about Team: "Team — Requests per minute: 300."
    parts = []
    for cells in (table_cells(block.items[n]) for n in stated):
        if column is not None and column < len(cells) and cells[0] and cells[column]:
            values = [
                f"{plain(header_cells[c]).strip()}: {plain(cells[c]).strip()}"
                for c in [column, *also]
                if c < len(cells) and cells[c]
            ]
            parts.append(f"{plain(cells[0]).strip()} — {'; '.join(values)}.")
    parts = [" ".join(parts)] if parts else []
    table = "\n".join([*block.header, *(block.items[n] for n in rows)])
    shown = [block.items[n] for n in rows]
    return [
        *parts,
        table,
        *_table_note(article),
        *_note_under(article, unit),
        *_key_notes(article, unit, shown),
    ]


def _key_notes(article: SourceArticle, unit: Unit, rows: list[str]) -> list[str]:
    """What another section says of a shown row's key, in a list item labelled with it ("**E7:**
    make sure the air vents … are at least 10 cm from the wall", under "If the same code returns
    straight after you clear it:"): those items, under their list's lead-in or heading."""
    keys = [key for key in (_text_terms(table_cells(row)[0]) for row in rows) if key]
    out: list[str] = []
    for n, section in enumerate(article.sections):
        if n == unit.section:
            continue
        for b, block in enumerate(section.blocks):
            if block.kind != "bullets":
                continue
            items = [item for item in block.items if _labelled_with(item, keys)]
            if items:
                lead = _lead_in(section.blocks, b)
                heading = [f"**{section.path[-1]}**"] if section.path else []
                out += [*([lead] if lead else heading), "\n".join(f"- {i}" for i in items)]
    return out


def _labelled_with(item: str, keys: list[frozenset[str]]) -> bool:
    """A list item opens with a short bold label that holds one of the keys ("**E1 or E6:**")."""
    label = _BOLD_LABEL.match(item)
    if not label:
        return False
    words = _text_terms(label.group(1))
    return len(words) <= LABEL_MAX_TERMS and any(key <= words for key in keys)


def _note_under(article: SourceArticle, unit: Unit) -> list[str]:
    """The short paragraph right under the table that says what its rows apply to ("Kettleby
    Brew machines ship free to every destination in the table … The rates above apply to orders
    of beans, filters, descaler and accessories."): a row means nothing without it."""
    blocks = article.sections[unit.section].blocks
    if unit.block + 1 >= len(blocks):
        return []
    note = blocks[unit.block + 1]
    if (
        note.kind == "paragraph"
        and _TABLE_ABOVE.search(plain(note.markdown))
        and len(note.markdown.split()) <= FOLLOWING_NOTE_WORDS
    ):
        return [note.markdown]
    return []


def _table_note(article: SourceArticle) -> list[str]:
    """What the article's opening says holds for every row of "the table below" ("Find the code
    in the table below and follow the fix. Once the problem is solved, press the Brew button
    once to clear the code."): the sentences after that pointer, when short."""
    if not article.sections or article.sections[0].path:
        return []  # no opening before the first heading
    for block in article.sections[0].blocks:
        if block.kind != "paragraph":
            continue
        pointer = next(
            (n for n, item in enumerate(block.items) if _TABLE_BELOW.search(plain(item))), None
        )
        after = list(block.items[pointer + 1 :]) if pointer is not None else []
        if after and len(" ".join(after).split()) <= TABLE_NOTE_WORDS:
            return [" ".join(after)]
    return []


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def _rows_in_range(said: str, keys: list[str]) -> list[int]:
    """The rows whose key states a range ("8 to 14 °dH", "over 21 °dH", "up to 2 kg") holding a
    number the message gives; none when no key states a range."""
    ranges: dict[int, tuple[float, float]] = {}
    units = set()
    for n, key in enumerate(keys):
        text = plain(key)
        if m := _RANGE.search(text):
            ranges[n] = (_number(m["low"]), _number(m["high"]))
        elif m := _BOUND.search(text):
            value = _number(m["value"])
            above = m["side"].lower() in ("over", "more than", "above", "from")
            ranges[n] = (value, float("inf")) if above else (float("-inf"), value)
        else:
            continue
        units.add(_unit_word(text[m.end() :]))
        if text[m.end() :].lstrip().startswith("°"):
            units |= {"degree", "degrees"}  # "16 degrees" for "15 to 21 °dH"
    if len(ranges) < 2:
        return []
    # a number counts when it is written with the keys' unit ("12 °dH"), not as a count of
    # something else ("3 red squares", "1 cup or 2?")
    given = [
        _number(m[0]) for m in _GIVEN_NUMBER.finditer(said) if _unit_word(said[m.end() :]) in units
    ]
    return [n for n, (low, high) in ranges.items() if any(low <= g <= high for g in given)]


def _unit_word(after: str) -> str:
    """The unit written right after a number ("°dH", "kg"), lower case and without "°"; "" when
    none is."""
    m = re.match(r"\s*°?\s*([^\W\d_]+)", after)
    return m[1].lower() if m else ""


def _named_row(
    clause: str, keys: list[frozenset[str]], negated: frozenset[str], places: dict
) -> int | None:
    """The one row whose key the clause names most of, if any; of keys it names as many words
    of, the one those words are the larger share of ("your marketing emails … my details":
    "Marketing preferences", not "Payment card details")."""
    said = terms(_phrased(clause)) - negated
    named = [_key_named(said, key, places) for key in keys]
    top = max(named, default=0)
    if not top:
        return None
    tied = [n for n, k in enumerate(named) if k == top]
    if len(tied) == 1:
        return tied[0]
    words = [keys[n] & said for n in tied]
    if any(a & b for i, a in enumerate(words) for b in words[i + 1 :]):
        return None  # the same words in each ("hard" in "Hard" and "Very hard"): none told apart
    shares = [top / len(keys[n]) for n in tied]
    return tied[shares.index(max(shares))] if shares.count(max(shares)) == 1 else None


def _near_keys(key: frozenset[str], other: frozenset[str]) -> bool:
    """Keys that share half their words and differ: "Price per month", "Price per year"."""
    return key != other and 2 * len(key & other) >= max(len(key), len(other))


def _row_at(unit: Unit, block: Block, item: int) -> Unit:
    """The row unit moved to another row of its table."""
    return replace(unit, text=block.items[item], item=item)


def _lead_in(blocks, index: int) -> str | None:
    """The short paragraph right before a list that introduces it ("To reset your password:")."""
    if index == 0 or blocks[index - 1].kind != "paragraph":
        return None
    previous = blocks[index - 1]
    text = previous.items[-1] if previous.items else ""
    return text if text.rstrip().endswith(":") and len(text.split()) <= 40 else None


def _dangling(article: SourceArticle, unit: Unit) -> bool:
    """A sentence that announces what follows ("Complete the following steps:") with nothing
    quotable after it in its section: alone, it reads as a cut reply."""
    if unit.kind != "sentence" or not unit.text.rstrip().endswith(":"):
        return False
    blocks = article.sections[unit.section].blocks
    block = blocks[unit.block]
    if unit.item is not None and unit.item < len(block.items) - 1:
        return False
    following = blocks[unit.block + 1] if unit.block + 1 < len(blocks) else None
    return following is None or following.kind not in ("steps", "bullets", "table", "code")


def _heading_line(article: SourceArticle, unit: Unit) -> list[str]:
    """The section's own heading in bold ("**Cause: the drip tray is full**"), when it has one."""
    path = article.sections[unit.section].path
    return [f"**{path[-1]}**"] if path and path[-1] else []


def _heading_asked(article: SourceArticle, section: int, question: Question) -> bool:
    """The question asks in the words of the section's heading ("anything I should do before I
    hit delete?" under "Before you delete"): the section is the answer, not one item of its list."""
    path = article.sections[section].path
    heading = {t for t in _all_terms(plain(path[-1])) if len(t) > 1} if path else set()
    return len(heading) >= 2 and heading <= _all_terms(question.asked)


def _row_key(unit: Unit) -> set[str]:
    cells = table_cells(unit.text)
    return _text_terms(cells[0]) if cells else set()


def _heading_runs(article: SourceArticle, section: int) -> set[str]:
    """Runs of three words of a section's heading ("billed by kettleby")."""
    words = _WORDS.findall(plain(" ".join(article.sections[section].path[-1:])).lower())
    return {" ".join(words[i : i + 3]) for i in range(len(words) - 2)}


def _procedure_name(article: SourceArticle, unit: Unit) -> set[str]:
    """Terms of a procedure's heading and its lead-in ("To cancel on the web:"); a "(without the
    app)" in a heading says what the procedure is not about."""
    section = article.sections[unit.section]
    heading = _WITHOUT.sub(" ", " ".join(section.path[-1:]))
    return _text_terms(f"{heading} {_lead_in(section.blocks, unit.block) or ''}")


def _still_within(question: Question) -> bool:
    """The message says how long ago something happened and asks whether a limit still allows
    it ("about 18 months after it was delivered … is that covered?", "It came … on the 2nd and
    today's the 27th … Can it still go back?")."""
    told = _ELAPSED.search(question.latest) or _DATES_APART.search(question.latest)
    return bool(told and _WITHIN.search(question.asked))


def _contradicted(question: Question) -> list[tuple[str, str]]:
    """(term, its opposite) for each condition the question states ("offline"): a procedure whose
    heading or intro holds the opposite and not the term is not the one for this case."""
    said = terms(question.latest)
    return [(t, o) for t, o in _OPPOSITES.items() if t in said]


def _colours(question: Question) -> frozenset[str]:
    """The colours the message says a light shows ("the ring … slowly glowing purple"), not
    those it denies ("there's no purple light")."""
    said = terms(" ".join(a or b for a, b in _LIT.findall(question.latest)))
    return frozenset(said) - question.negated


def _other_colours(article: SourceArticle, colours: frozenset[str]) -> frozenset[int]:
    """The sections that name a colour and none of the ``colours`` the message states (one pass
    over the article's units; none when the message states no colour)."""
    if not colours:
        return frozenset()
    named: dict[int, set[str]] = {}
    for unit in article.units:
        named.setdefault(unit.section, set()).update(_COLOURS & _unit_terms(article, unit))
    return frozenset(n for n, found in named.items() if found and not found & colours)


def _off_sections(
    article: SourceArticle, question: Question, colours: frozenset[str]
) -> frozenset[int]:
    """The sections the message's story rules out: those naming only another colour of a light
    than the message states, and those of another symptom than the one it names, unless they
    name the colour it states ("taste bitter … the orange drop thing has been on": *the machine
    is due for a descale*, "If the orange drop icon is showing", under "weak or watery"). A
    message that tells of two problems and asks about either ("a small puddle under the machine
    … water under the end where the tank is … Should I be worried about either?") rules out no
    other symptom by naming one."""
    either = any(_EITHER_ASKED.search(p) for p in _pieces(question.latest))
    others = frozenset() if either else _other_symptoms(article, question.stated)
    shown = _shown(question.latest) | colours
    if others and shown:
        others -= {u.section for u in article.units if shown & _unit_terms(article, u)}
    return _other_colours(article, colours) | others


@lru_cache(maxsize=4096)  # once per message, not per article scored
def _shown(text: str) -> frozenset[str]:
    """The colours of the icons a message says the machine shows ("the orange drop thing has
    been on"), not one it denies ("there's no orange drop on the display")."""
    return frozenset(
        term
        for m in _SHOWN.finditer(text)
        if not _DENIED_BEFORE.search(text[max(0, m.start() - 20) : m.start()])
        for term in terms(m.group(1))
    )


def _other_symptoms(article: SourceArticle, said: frozenset[str]) -> frozenset[int]:
    """Of sibling sections that each hold sections of their own ("Coffee tastes bitter or
    burnt", "Coffee tastes sour", each over its causes), the others when the message names one
    alone ("every cup tastes sharp and sour": not the bitter causes, however much their words
    match the story's "dark roast")."""
    return frozenset().union(*(off for _, off in _named_alone(article, said)))


def _symptom_named(article: SourceArticle, section: int, said: frozenset[str]) -> bool:
    """The section lies under the one of its sibling problems that the message names alone."""
    return any(section in named for named, _ in _named_alone(article, said))


def _named_alone(
    article: SourceArticle, said: frozenset[str]
) -> list[tuple[frozenset[int], frozenset[int]]]:
    """Per set of sibling problems of which the message names one alone, by a word of its
    heading that no heading outside it holds: its sections, and its siblings' sections."""
    out = []
    for siblings in _symptom_groups(tuple(s.path for s in article.sections)):
        # a sibling with no sections below names nothing (its words may be the story's: "pushed
        # it back on straight" for "Water from the back …"), and is not another problem when
        # the message names a word of its heading not in the title ("Still offline?" after
        # "… shows Offline")
        named = [n for n, (words, _, leaf) in enumerate(siblings) if not leaf and words & said]
        if len(named) == 1:
            title = _text_terms(article.title)
            others = (
                members
                for n, (words, members, leaf) in enumerate(siblings)
                if n != named[0] and not (leaf and (words - title) & said)
            )
            out.append((siblings[named[0]][1], frozenset().union(*others)))
    return out


@lru_cache(maxsize=256)
def _symptom_groups(
    paths: tuple[tuple[str, ...], ...],
) -> tuple[tuple[tuple[frozenset[str], frozenset[int], bool], ...], ...]:
    """Sets of two or more sibling headings that each have headings below them (an H2 may hold
    no text of its own, only its H3 sections), with, when each holds causes, their siblings that
    hold none: per sibling, the words of its heading that no heading outside it holds (all of
    them for one with none below), the sections under it, and whether it has none below."""
    headings = {path[: k + 1] for path in paths for k in range(len(path))}
    with_below = {h for h in headings if any(len(p) > len(h) and p[: len(h)] == h for p in paths)}
    words = {h: _text_terms(h[-1]) for h in headings}
    groups = []
    for parent in sorted({h[:-1] for h in with_below}):
        siblings = sorted(h for h in with_below if h[:-1] == parent)
        if len(siblings) < 2:
            continue
        # … with their siblings that hold none ("Water from the back of the machine", a cause
        # of its own beside "Water in front of the machine" and its causes), where each sibling
        # holds causes (a troubleshooting page, not a guide's sections)
        causes = all(
            any(p[:-1] == h and _CAUSE_HEADING.match(p[-1]) for p in headings) for h in siblings
        )
        leaves = sorted(h for h in headings - with_below if h[:-1] == parent) if causes else []
        groups.append(
            tuple(
                (
                    words[h].difference(*(w for other, w in words.items() if other[: len(h)] != h))
                    if h in with_below
                    else words[h],  # (a leaf: all its heading's words)
                    frozenset(n for n, p in enumerate(paths) if p[: len(h)] == h),
                    h not in with_below,
                )
                for h in [*siblings, *leaves]
            )
        )
    return tuple(groups)


def _vocabulary(article: SourceArticle) -> set[str]:
    """Every word an article uses, in its units and headings."""
    return set().union(*(_stated_terms(article, u) for u in article.units))


def _unit_terms(article: SourceArticle, unit: Unit) -> set[str]:
    section = article.sections[unit.section]
    if unit.kind == "row":  # a row means what its header says: "Team | 300" is a rate limit
        header = section.blocks[unit.block].header
        return _text_terms(f"{header[0] if header else ''} {unit.text}")
    if unit.kind == "steps":  # its heading names what it does ("Descale from the app"), its
        # intro when it applies ("This usually happens after the tank has run dry")
        before = intro(section.blocks, unit.block)
        return _text_terms(" ".join([*section.path[-1:], *before, unit.text]))
    return _text_terms(unit.text)


@lru_cache(maxsize=65536)
def _without(text: str) -> frozenset[str]:
    """The terms a text says "without": "Pause all … without deleting them" is not about
    deleting one."""
    return frozenset(terms(" ".join(m.group(0) for m in _WITHOUT.finditer(plain(text)))))


def _said(
    weights: dict[str, float],
    used: list[tuple[SourceArticle, Unit]],
    aliases: dict | None = None,
    quoted: frozenset[str] = frozenset(),
) -> float:
    """The share of the question that the units, with their titles and headings, state (and
    ``quoted``: the words of all the reply quotes for them, a whole list for one item)."""
    got: set[str] = set(quoted).union(*(_stated_terms(article, unit) for article, unit in used))
    return coverage_of(weights, got, aliases=aliases)


def _stated_terms(article: SourceArticle, unit: Unit) -> set[str]:
    """The unit's terms with its article's title and its headings."""
    return _unit_terms(article, unit) | article.context_terms(unit)


def _covered(
    weights: dict[str, float],
    used: list[tuple[SourceArticle, Unit]],
    aliases: dict | None = None,
    quoted: frozenset[str] = frozenset(),
) -> float:
    got: set[str] = set(quoted)
    context: set[str] = set()
    for article, unit in used:
        got |= _unit_terms(article, unit)
        if unit.kind == "sentence":  # "Pause all … without deleting them" answers no "delete"
            got -= _without(unit.text)
        context |= article.context_terms(unit)
    return coverage_of(weights, got, context, aliases)


def _adds_a_main_word(
    asked: dict[str, float], picked: list[Scored], other: Scored, aliases: dict
) -> bool:
    """Another article adds one of the words that carry a one-part question ("why does the app
    want Bluetooth on?"), not only its lighter ones ("set up my new Brew": a schedule's "Set
    the time", "Tap + New schedule")."""
    got = set().union(*(_stated_terms(p.article, p.unit) for p in picked))
    own = _stated_terms(other.article, other.unit)
    gained = [
        w for t, w in asked.items() if not _holds(t, got, aliases) and _holds(t, own, aliases)
    ]
    return bool(gained) and max(gained) >= MAIN_WORD_SHARE * max(asked.values())


def _answers_a_part(
    parts: list[dict[str, float]], picked: list[Scored], other: Scored, held, aliases: dict
) -> bool:
    """The unit answers one of the message's questions that the reply leaves unanswered: most
    of that question's words are new in it ("Also is there a fee?": "Cost: requests are free")."""
    used = [(p.article, p.unit) for p in picked]
    for part in parts:
        if not part:
            continue
        before = held(part, used, aliases)
        if (
            before < PART_ANSWERED
            and held(part, [*used, (other.article, other.unit)], aliases) - before >= PART_GAIN
        ):
            return True
    return False


def _parts_by_meaning(
    question: Question,
    picked: list[Scored],
    ranked: list[Scored],
    sources: Sources,
    quoted: str,
) -> list[Scored]:
    """For each question of the message the picked units answer less than ``PART_ANSWERED`` of,
    the unit of the best article closest to it in meaning, when close enough."""
    # the message's own questions, each beside its words (in the article's words: "Would that wipe
    # my old shop invoices too?" holds "erase")
    asked = question.asked_pieces()
    if sources.similarity_to is None or not asked:
        return []
    article, aliases, more = picked[0].article, question.aliases, []
    parts = question.weights_of(sources, [_phrased(p) for p in asked])
    pieces = zip(asked, question.asked_in_context(), parts, strict=True)
    for piece, in_context, part in pieces:
        chosen = [*picked, *more]
        if len(chosen) >= MAX_UNITS:
            break
        used = [(p.article, p.unit) for p in chosen]
        if (
            not part
            or not _QUESTION.search(piece)
            or _covered(part, used, aliases) >= PART_ANSWERED
            or coverage_of(part, terms(quoted), aliases=aliases) >= PART_ANSWERED  # a note's list
        ):
            continue
        candidates = [
            s
            for s in ranked[:MAX_CANDIDATES]
            if s.article is article
            and not _overlaps(s, chosen)
            and normalise(plain(s.unit.text)) not in quoted
        ]
        if not candidates:
            continue
        # a short question about a thing it names ("And what happens to my Plus now?") by a
        # word the article does not use means what the message is about
        if (
            len(piece.split()) <= SHORT_QUESTION_WORDS
            and _NAME.search(piece)
            and not part.keys() & _vocabulary(article)
        ):
            in_context = question.opening_and(in_context)
        # … and the reply's own units of that article: one of them closer in meaning answers it
        # already ("Would that wipe my old shop invoices too?": "Some records, such as invoices
        # …, must be kept by law", not "Only the account owner can delete a Business account")
        own = [s for s in chosen if s.article is article]
        probes = [probe_text(article.title, article.sections, s.unit) for s in [*candidates, *own]]
        cosines = sources.similarity_to(probes, in_context)
        theirs, ours = cosines[: len(candidates)], cosines[len(candidates) :]
        cosine, closest = max(zip(theirs, candidates, strict=True), key=lambda cs: cs[0])
        if cosine >= PART_MEANING and cosine > max(ours, default=0.0):
            more.append(closest)
    return more


def _blocks(units: list[Scored]) -> int:
    """How many paragraphs, lists, tables or procedures the units are quoted from: a cause's
    sentence and its fixes are one paragraph of the reply's length."""
    return len({(id(s.article), s.unit.section, s.unit.block) for s in units})


def _answers_to_each_question(
    question: Question, picked: list[Scored], sources: Sources, quoted: str
) -> list[Scored]:
    """A message that asks several things ("How do I set that up? And will it still happen if
    the wifi has dropped out at 8?"): each question, with the story around it but not the other
    questions, is scored as a message of its own. Its best unit joins the reply when it is of an
    article the reply cites, not in the reply yet, and closer in meaning to that question than
    the reply's first unit is (it answers another part), or that question's own words rank the
    first far below it (``FIRST_WORDS_RATIO``: *Complaints* for "could I go straight to the Dutch
    data protection authority?"), with a cosine of at least ``QUESTION_ALONE_MEANING``.

    The words of the whole message choose one answer; the words of one question alone find the
    section that answers it ("Schedules are stored on the machine itself"), which the whole
    message's words rank below the procedure's other sentences."""
    pieces, asking = _asking(question.latest)
    told = _either_of_those(pieces)
    if sources.similarity_to is None or not (asking or told) or _blocks(picked) >= MAX_UNITS:
        return []  # (a reply already full takes none of them: no question is scored)
    more: list[Scored] = []
    # "… I'm sure I read something about 3 years, and he did add it to the app. Also, he always
    # descaled it with a cheap supermarket descaler … Does either of those matter?": each thing
    # told, with the question
    asks = [(f"{t} {pieces[-1]}", f"{t} {pieces[-1]}", len(pieces) - 1) for t in told]
    # "Also …" / "Separately …" opens a matter of its own: its story is not an earlier
    # question's ("Can I have the other three weeks refunded? Also asking for my brother: he's on
    # yearly …"), nor the earlier story its question's
    opens = [k for k, p in enumerate(pieces) if k and (_ALSO.match(p) or _SEPARATELY.match(p))]
    for n in asking:
        first = max((k for k in opens if k <= n), default=0)
        last = min((k for k in opens if k > n), default=len(pieces))
        alone = " ".join(
            p for k, p in enumerate(pieces) if k == n or (k not in asking and first <= k < last)
        )
        # "Where is it??" means what the sentence before it says (not "Separately, …" or
        # "Also, once it's working, …", which sets itself apart from it)
        back = (
            n
            and len(pieces[n - 1].split()) > INTERJECTION_WORDS  # "Great. Can I make it …?"
            and _POINTING_BACK.search(pieces[n])
            and not _SEPARATELY.match(pieces[n])
            and not _ALSO.match(pieces[n])  # "Also, because it'll be out of sight …"
        )
        meant = f"{pieces[n - 1]} {pieces[n]}" if back else pieces[n]
        # "Great. Can I make it compulsory …?" after an answer about two-step verification: "it"
        # is what the customer asked before
        if (
            not back
            and question.previous
            and all(len(p.split()) <= INTERJECTION_WORDS for p in pieces[:n])
            and _POINTING_BACK.search(pieces[n])
        ):
            meant = f"{question.previous} {pieces[n]}"
        # … and "What happens if I do either?" each of the two things it says: "I'm tempted
        # either to leave each one in for twice as long …, or to stop using them altogether"
        either = _EITHER_ASKED.search(pieces[n]) and n and _ALTERNATIVES.search(pieces[n - 1])
        if either:
            asks += [(f"{side} {pieces[n]}", side, n) for side in either.groups()]
        else:
            asks.append((alone, meant, n))
    scored_asks = []
    for alone, meant, n in asks:
        sub = Question(alone, question.previous, question.answered)
        # which sentence answers it, by meaning: close to this question, not to the message
        ranked = score_units(
            sub, replace(sources, similarity=partial(sources.similarity_to, to=meant))
        )
        if ranked:
            top = _wordier(_answering(sub, ranked), ranked)
            scored_asks.append((sub, meant, n, ranked, top))
    # an article the reply does not cite yet answers when it answers two of the questions
    answering = Counter(id(top.article) for *_, top in scored_asks)
    for sub, meant, n, ranked, top in scored_asks:
        chosen = [*picked, *more]
        if _blocks(chosen) >= MAX_UNITS:
            break
        if top.unit.kind == "steps" and not sub.wants_steps:  # "can I just run it without any
            # filter at all?" asks no steps: "The Brew works fine without a filter.", which
            # holds more of it than the steps (and is not their intro)
            prose = next((s for s in ranked if s.unit.kind != "steps"), top)
            if prose.coverage > top.coverage and (
                prose.article is not top.article or prose.unit.section != top.unit.section
            ):
                top = prose
        named_elsewhere = parallel = None
        own_best = top
        # "… Will it work over there? And how much does it draw when it's sitting on standby?":
        # the row that question names (*Standby power*) is not in a reply quoting another row of
        # its table (*Mains voltage*)
        apart = _row_named_apart(top, pieces[n], quoted, question.aliases)
        if top.score > 0 and not apart and _in_reply(top, chosen, quoted):
            named_elsewhere = _row_named_elsewhere(top, ranked, chosen, quoted)
            parallel = _section_told(ranked, top, chosen, quoted, sub.latest)
            top = (
                _runner_up(ranked, top, chosen, quoted, meant) or parallel or named_elsewhere or top
            )
        if (
            top.score <= 0  # what the message rules out
            or _ruled_out(question.negated, top)  # … or its story ("phone's right next to it")
            or (
                all(top.article is not p.article for p in chosen)
                and not (answering[id(top.article)] >= 2 and _one_article(chosen))
            )
            # the unit, its paragraph, list or table, or its text
            or (not apart and _in_reply(top, chosen, quoted))
            # a second procedure only for a question that asks how ("I want to change my
            # password" is answered by the reply's procedure, not by "Forgot your password")
            or (
                top.unit.kind == "steps"
                and any(p.unit.kind == "steps" for p in chosen)
                and (not sub.asks_how or _rival_procedure(question, top, chosen))
            )
        ):
            continue
        probes = [probe_text(s.article.title, s.article.sections, s.unit) for s in (top, picked[0])]
        own, first = sources.similarity_to(probes, meant)
        first_words = next((s.score for s in ranked if s.unit is picked[0].unit), 0.0)
        if (
            (
                own >= QUESTION_ALONE_MEANING
                and (
                    own > first
                    or top is named_elsewhere
                    or (top is not own_best and _goes_to(top, pieces[n]))  # the way back
                    or top is parallel  # "I'm on monthly …": *Monthly plans*
                    or (top is own_best and first_words < FIRST_WORDS_RATIO * top.score)
                    # "does the Brew stop working?": "**Machines are released.** … keeps working",
                    # an item of the long list the reply quotes (no paragraph more)
                    or (top is own_best and _item_of_quoted_list(top, chosen))
                )
            )
            or _heading_names(top, pieces[n])
            # "where is that setting?" beside a quoted row: the procedure that says where
            # ("… open **Settings > Maintenance > Water hardness** and choose the level")
            or (top is not own_best and top.unit.kind == "steps")
            # "What's the free limit?" with "300 recipes saved": the row whose key the message
            # names, for a question of a value (a table row means little to the model)
            or (
                top.unit.kind == "row"
                and sub.wants_value
                and _names(terms(_phrased(question.latest)), _row_key(top.unit), question.aliases)
            )
        ):
            more.append(top)
    return more


def _row_named_apart(top: Scored, piece: str, quoted: str, aliases: dict) -> bool:
    """A table row the reply does not show, whose key the question's own words name (not its
    story's)."""
    return (
        top.unit.kind == "row"
        and normalise(plain(top.unit.text)) not in quoted
        and _names(terms(_phrased(piece)), _row_key(top.unit), aliases)
    )


def _either_of_those(pieces: list[str]) -> list[str]:
    """The two sentences before a message's closing and only question that asks about "either
    of those" (or "both of them"), when neither asks."""
    if len(pieces) < 3 or not _EITHER_OF.search(pieces[-1]) or _asking_at(tuple(pieces[:-1])):
        return []
    return pieces[-3:-1]


def _rival_procedure(question: Question, top: Scored, chosen: list[Scored]) -> bool:
    """Another of the article's procedures than the one the whole message names ("I pay for Plus
    through the App Store on my iPhone … How do I cancel?": not *On Android*, which "How do I
    cancel?" alone may rank first)."""
    factors, said = question.factors, _padded_words(question.latest)
    return any(
        p.unit.kind == "steps"
        and p.article is top.article
        and _contrast(p.article, p.unit, factors, said)
        and not _contrast(top.article, top.unit, factors, said)
        for p in chosen
    )


def _one_article(chosen: list[Scored]) -> bool:
    return len({id(p.article) for p in chosen}) == 1


def _wordier(best: Scored, ranked: list[Scored]) -> Scored:
    """The unit holding ``QUESTION_WORDS_RATIO`` times the question's words of the best one,
    nearly as good, instead of it: the best holds almost none of them, only bonuses (of a
    retrieved table, of the first article's procedure)."""
    wordier = max(ranked, key=lambda s: s.coverage)
    if (
        wordier.coverage > QUESTION_WORDS_RATIO * best.coverage
        and wordier.score >= KIND_PREFERENCE * best.score
    ):
        return wordier
    return best


# "Does either of those matter?": a question about each of the two things told before it
_EITHER_OF = re.compile(
    r"(?i)\b(?:does|do|would|will|could|can|is|are)\s+(?:either|both|any|each)\s+of\s+"
    r"(?:those|these|them|that)\b"
)
# "What happens if I do either?", "… to both of those?": a question about each of the
# alternatives the sentence before it names ("either to …, or to …")
_EITHER_ASKED = re.compile(r"(?i)\b(?:either|both|each)(?:\s+of\s+(?:them|those|these))?\W*$")
_ALTERNATIVES = re.compile(r"(?i)\beither\s+(.+?),?\s+or\s+(.+?)[.!]?$")


def _in_reply(unit: Scored, chosen: list[Scored], quoted: str) -> bool:
    """The reply has the unit already: its block (``_overlaps``) or its words."""
    return _overlaps(unit, chosen) or normalise(plain(unit.unit.text)) in quoted


def _heading_told(scored: Scored, told: str) -> bool:
    """The words of the unit's section heading that no other part of its article holds are
    all in ``told`` ("I'm on monthly Plus": *Monthly plans*)."""
    if not scored.article.sections[scored.unit.section].path:
        return False
    own = _own_heading_words(scored.article, scored.unit.section)
    return bool(own) and own <= terms(_phrased(told))


def _section_told(
    ranked: list[Scored], top: Scored, chosen: list[Scored], quoted: str, told: str
) -> Scored | None:
    """A question whose best unit the reply quotes already, under a heading its story does not
    name ("I'm on monthly Plus … Can I have the other three weeks refunded?" beside a brother's
    yearly plan: the yearly refund rules): the best unit of the parallel section its story names
    (*Monthly plans* beside *Yearly plans*), nearly as good ("We don't give refunds for part of
    a month")."""
    if _heading_told(top, told):
        return None
    best = top.score - top.row_bonus
    for other in ranked[1:]:
        if other.score < RUNNER_UP_PLACE_RATIO * best:
            break
        if (
            other.article is top.article
            and other.unit.section != top.unit.section
            and _heading_told(other, told)
            and _parallel(top.article, top.unit.section, other.unit.section)
            and not _in_reply(other, chosen, quoted)
        ):
            return other
    return None


def _parallel(article: SourceArticle, one: int, other: int) -> bool:
    """Two sections whose headings differ only by their own words: alternatives ("Monthly
    plans", "Yearly plans")."""
    if not (article.sections[one].path and article.sections[other].path):
        return False
    shared = [
        _text_terms(article.sections[n].path[-1]) - _own_heading_words(article, n)
        for n in (one, other)
    ]
    return bool(shared[0]) and shared[0] == shared[1]


def _runner_up(
    ranked: list[Scored], top: Scored, chosen: list[Scored], quoted: str, piece: str
) -> Scored | None:
    """A question whose best unit the reply already quotes, when the story around it chose that
    unit ("he's deleting his account … Will it stop working when he deletes?": the bullet about
    payments again): the next unit of a cited article, nearly as good, that holds a word of the
    question the reply does not ("working")."""
    # a word written with or without its hyphen is one word ("wifi", "Wi-Fi")
    asked = _unhyphened(_with_synonyms(terms(_phrased(piece))))
    wanted = asked - _unhyphened(terms(quoted))
    where = bool(_WHERE_ASKED.search(piece))
    # (the other rows of the top one's table are not candidates: the reply quotes its row)
    others = [s for s in ranked[1:] if s.unit.kind != "row" or not _overlaps(s, [top])]
    # a row the reply quotes is measured without its bonus, which chose it among its table's
    # rows ("Is there a trial first … And your website lists everything in pounds - what will I
    # be charged?": *Free trial* again, "Prices are in pounds sterling …" next)
    best = top.score - top.row_bonus
    # "can I go back to monthly?" where the reply quotes the way to yearly: the way back, which
    # holds the same words
    if _from_to(top.article, top.unit) is not None and not _goes_to(top, piece):
        back = next((s for s in others if s.article is top.article and _goes_to(s, piece)), None)
        if back is not None and not _in_reply(back, chosen, quoted):
            return back
    for other in others[: RUNNER_UP_CANDIDATES - 1]:
        if other.score < RUNNER_UP_PLACE_RATIO * best:
            break
        held = _unhyphened(_unit_terms(other.article, other.unit))
        # "the serial number where on earth is it": "The serial number is printed on the
        # sticker under the drip tray", where the reply only names it
        # (or the menu it is under: "… under **Settings > Maintenance**")
        text = plain(other.unit.text)
        place = where and asked & held and bool(_PLACE_SAID.search(text) or _MENU_PATH.search(text))
        if (
            # a procedure only for where a setting is ("where is that setting?", not "is my card
            # number going to be anywhere in the file?")
            (other.unit.kind != "steps" or (place and _WHERE.search(piece)))
            and any(other.article is p.article for p in chosen)
            and not _in_reply(other, chosen, quoted)
            and (
                place
                or (
                    (wanted & held or _names_item(asked, held, other, chosen))
                    and other.score >= RUNNER_UP_RATIO * best
                )
            )
        ):
            return other
    return None


def _row_named_elsewhere(
    row: Scored, ranked: list[Scored], chosen: list[Scored], quoted: str
) -> Scored | None:
    """Another question about a row the reply quotes ("How long do you keep that stuff? And do
    you use it for anything else?"): the prose of another section that names the row's thing
    ("We combine machine diagnostics into anonymous statistics"), two words at least, its
    parenthesis aside."""
    cells = table_cells(row.unit.text) if row.unit.kind == "row" else []
    name = _text_terms(_PARENTHESIS.sub("", cells[0])) if cells else set()
    if len(name) < 2:
        return None
    return next(
        (
            s
            for s in ranked
            if s.article is row.article
            and s.unit.kind == "sentence"
            and s.unit.section != row.unit.section
            and name <= _unit_terms(s.article, s.unit)
            and not _in_reply(s, chosen, quoted)
        ),
        None,
    )


def _unhyphened(words: set[str] | frozenset[str]) -> set[str]:
    return {w.replace("-", "") for w in words}


def _heading_names(unit: Scored, piece: str) -> bool:
    """The question names a word of the unit's heading that no other heading of its article
    holds ("any tips for picking a better one?" under "Tips for a strong password"): that
    section answers it, however little the rest of it means alone."""
    article = unit.article
    path = article.sections[unit.unit.section].path
    if not path:
        return False
    others = set().union(
        *(
            _text_terms(s.path[-1])
            for n, s in enumerate(article.sections)
            if s.path and n != unit.unit.section
        )
    )
    return bool((_text_terms(path[-1]) - others) & terms(_phrased(piece)))


def _overlaps(other: Scored, picked: list[Scored]) -> bool:
    """Same block of the same article (two sentences of one paragraph, two rows of one table),
    except two items of a list too long to quote whole ("Identity check", "Cost")."""
    return any(
        p.article is other.article
        and p.unit.section == other.unit.section
        and p.unit.block == other.unit.block
        and not (_long_list(other) and p.unit.item != other.unit.item)
        for p in picked
    )


def _names_item(asked: set[str], held: set[str], other: Scored, chosen: list[Scored]) -> bool:
    """Another item of a long list the reply quotes, which holds two words of the question, though
    the reply says them already ("I'd like to keep my recipes somehow": *Download your data* …
    "if you want to keep your recipes", beside the reply's "Cancel … first")."""
    return _item_of_quoted_list(other, chosen) and len(asked & held) >= ITEM_NAMED_TERMS


def _item_of_quoted_list(other: Scored, picked: list[Scored]) -> bool:
    """Another item of a long list that the picked units quote items of."""
    return _long_list(other) and any(
        p.article is other.article
        and (p.unit.section, p.unit.block) == (other.unit.section, other.unit.block)
        for p in picked
    )


def _long_list(s: Scored) -> bool:
    block = s.article.sections[s.unit.section].blocks[s.unit.block]
    return s.unit.kind == "bullets" and len(block.markdown.split()) > BULLETS_WHOLE_WORDS
