"""Replies read end to end on the shipped help centre (evals/data/support-answers/kb): customer
messages of the eval set's dev part whose replies were wrong, each with what the fixed reply
must and must not say. The whole drafter runs (real retrieval, real embeddings), as in a draft."""

from __future__ import annotations

import pytest

from autocrm.core.settings import Settings
from autocrm.db.connect import connect
from autocrm.evals.datasets import load_dataset
from autocrm.evals.kb import eval_kb_url
from autocrm.pipeline.answer import prepare_answer
from autocrm.pipeline.decision import Action
from autocrm.pipeline.query import Turn


@pytest.fixture(scope="module")
def kettleby_url(server_url, real_embedder, tmp_path_factory) -> str:
    dataset = load_dataset(
        "support-answers", split="all", cache_dir=tmp_path_factory.mktemp("support-answers")
    )
    url, _ = eval_kb_url(
        server_url=server_url,
        source=dataset.kb_source,
        chunking=Settings().chunking,
        embedder=real_embedder,
    )
    return url


def prepare(url: str, embedder, latest: str, thread: tuple[tuple[str, str], ...] = ()):
    """The auto-responder's draft and decision for ``latest`` after ``thread``."""
    settings = Settings()
    settings.retrieval.top_k = 10
    turns = [Turn(speaker, text) for speaker, text in thread] + [Turn("customer", latest)]
    with connect(url, autocommit=True) as conn:
        return prepare_answer(
            conn,
            subject="",
            description="",
            thread=turns,
            customer_name=None,
            kind="auto_reply",
            embedder=embedder,
            chat_model=None,
            settings=settings,
        )


def reply(url: str, embedder, latest: str, thread: tuple[tuple[str, str], ...] = ()) -> str:
    return " ".join(prepare(url, embedder, latest, thread).draft.text.split())


CASES = [
    pytest.param(
        "I want to change my Kettleby password - it's one I've had for years and it's literally "
        "my dog's name and a 1. I'm signed in on my phone right now. Thing is, my husband uses "
        "the app on the kitchen tablet under my login and I'd rather he didn't get kicked out. "
        "How do I change it? And any tips for picking a better one?",
        (),
        ["Type your new password twice"],
        ["Forgot password?"],  # one procedure: the one for a signed-in customer
        id="sa-362 one procedure",
    ),
    pytest.param(
        "ok, and worst case - if I lost my phone and couldn't find the backup codes either, "
        "would I be locked out for good?",
        (
            ("customer", "how do i set up two-step verification on my kettleby account?"),
            (
                "agent",
                "In the Kettleby app, go to Settings > Account > Security, tap Two-step "
                "verification and enter your password. Scan the QR code with your authenticator "
                "app, enter the 6-digit code it shows and tap Verify, then save your 10 backup "
                "codes somewhere safe and tap Done.",
            ),
        ),
        ["verify your identity before we can switch off two-step verification"],
        ["scan the QR code"],  # the steps the agent just gave
        id="sa-383 not what the thread told",
    ),
    pytest.param(
        "Two things with the timers on our Brew. My son's moved out so I want to get rid of his "
        "6am one completely. And we're away for three weeks from Friday - how do I stop the "
        "others going off while we're gone without having to set them all up again when we get "
        "back?",
        (),
        ["swipe left on the schedule and tap **Delete**", "Pause all"],
        [],
        id="sa-360 both requests",
    ),
    pytest.param(
        "I turned the grind dial right up to 10 because a mate said coarser = less bitter. Now "
        "every coffee is thin and sharp, kind of sour. Medium roast, bag opened last week, "
        "roasted about a month ago. What should I do?",
        (),
        ["turn the grind dial one step finer"],
        ["2 red squares"],  # the water-hardness table's Medium row
        id="sa-375 not the Medium row",
    ),
    pytest.param(
        "Someone told me to look under Settings > Plan in the Kettleby app and it says Billed by "
        "Apple. But there's no cancel button in there?? I want to stop Plus. I'm on an iPad. Also "
        "do I lose Plus the minute I cancel?",
        (),
        [
            "Tap Cancel Subscription and then Confirm",  # "I want to stop Plus" asks how
            "You keep all Plus or Business features until the end of the period",  # "lose Plus"
        ],
        ["Open the Google Play Store app", "Sign in at my.kettleby.com"],
        id="sa-393 the Apple steps and what you keep",
    ),
    pytest.param(
        "thinking of closing my kettleby account. I pay for Plus through the App Store and I've "
        "got about 3 years of recipes I might want one day. anything I should do before I hit "
        "delete?",
        (),
        ["Cancel any paid subscription first", "Download your data"],  # the whole list
        [],
        id="sa-404 the whole section its heading asks",
    ),
    pytest.param(
        "the display on my brew keeps saying the tank is empty when it's full to the top (yes "
        "it's pushed in properly, I've checked about 20 times). machine is about 20 months old, "
        "bought on your website. would the warranty cover a dodgy sensor?",
        (),
        ["display and sensor faults", "2 years from the date of delivery"],
        [],
        id="sa-402 the time limit a stated age is checked against",
    ),
    pytest.param(
        "we're moving abroad and my Brew is going to my sister-in-law. it's still connected and "
        "working fine in the app. how do i wipe it properly before it goes?",
        (),
        ["Settings > Machine > Factory reset", "Enter your Kettleby account password"],
        ["Wipe the wand"],  # "wipe it": the machine, not the steam wand
        id="sa-390 wipe it is a reset",
    ),
    pytest.param(
        "I want to put the Brew on a shelf in our pantry cupboard. The shelf is 40cm deep and "
        "the brackets say max 10kg. Will it fit, and is it too heavy?",
        (),
        ["24 x 43 x 36 cm", "8.2 kg"],  # "will it fit": dimensions, "too heavy": weight
        [],
        id="sa-396 the rows named in other words",
    ),
    pytest.param(
        "Money's tight so I'm going to drop Plus and go back to the free plan. Problem is I've got "
        "something like 300 recipes saved. What's the free limit, and will I lose the ones over "
        "it?",
        (),
        ["| Recipes saved | 20 |", "Nothing is deleted"],  # the value asked, and what happens
        [],
        id="sa-275 the row a value question names",
    ),
    pytest.param(
        "Bit of a silly one. I'm still logged in to the Kettleby app on my old iPad but I have NO "
        "idea what my password is, and now I need to get into it on my new phone. I tried the "
        "change password option in settings on the iPad but it wants my current password first, "
        "which is the whole problem. What do I do? And will it kick the iPad out?",
        (),
        ["Forgot password?", "signs you out of the app on all your other devices"],
        ["Enter your current password"],  # the procedure the customer says cannot work
        id="sa-421 no idea what the password is: forgotten",
    ),
    pytest.param(
        "My husband makes himself a cappuccino every morning and leaves the steam wand caked in "
        "dried-on milk. I end up picking it off with my thumbnail at night. What is he actually "
        "supposed to do with it once he's done frothing? Keep it short, I'm printing it out and "
        "sticking it on the fridge",
        (),
        ["Wipe the wand with a damp cloth straight after frothing", "swing it back"],
        ["Cold milk straight from the fridge"],
        id="sa-422 supposed to do: the steps",
    ),
    pytest.param(
        "Ich wohne in Germany, sorry my English. Which company is responsible for my data in the "
        "Kettleby app and shop, and which data law applies to me? And what is the fastest way to "
        "see all data you have on me?",
        (),
        ["Kettleby Ltd is the data controller", "the quickest way to get a copy of your data"],
        [],
        id="sa-435 fastest is quickest",
    ),
    pytest.param(
        "Got an email saying my Plus payment didn't go through. I pay on your website. Card's "
        "fine and in date, but in fairness it went out the day before payday and I was pretty "
        "much at zero. There's money in there now. Am I about to lose Plus?",
        (),
        ["try the payment again 3 times over 7 days. You keep full access during this time"],
        ["Never stored by Kettleby"],  # "keep" in the data-retention table's header
        id="sa-440 lose Plus: the access kept while a payment is retried",
    ),
    pytest.param(
        "and if we stop using the filter?",
        (
            (
                "customer",
                "Our water is soft, we use the AquaPure filter. How often do I need to descale?",
            ),
            ("agent", "With soft water and a filter fitted, you need to descale every 3,000 cups."),
        ),
        ["1,500 cups", "The Brew works fine without a filter"],
        ["Soak the new AquaPure filter"],  # not the steps for replacing it
        id="sa-064 stop using it: doing without it",
    ),
    pytest.param(
        "My daughter passed her old iphone down to me and I've just unpacked the coffee machine "
        "she bought me for my birthday. I'd like to get it on the internet so she can show me the "
        "app thing. Please go through it slowly from the beginning, I'm not very techy. A little "
        "box came up on the phone earlier asking about finding devices on my network and I "
        "pressed no because I didn't know what it was, was that wrong?",
        (),
        ["to give Local Network access", "Give your machine a name"],
        ["Nearby devices permission"],  # the iPhone's steps, not Android's
        id="sa-454 go through it from the beginning: the steps for the phone named",
    ),
    pytest.param(
        "We're a small bakery with two Brews and I'm deciding between Plus and Business. The two "
        "things that matter to me: if something goes wrong, what kind of support do we get with "
        "each, and what sort of reports on how much coffee we're getting through?",
        (),
        ["Priority email and phone support", "Live dashboard and CSV export"],
        ["Brew history"],  # more rows named than a reply shows: the ones the clauses ask
        id="sa-463 the rows each clause asks for, not the rows the story names",
    ),
    pytest.param(
        "ok found it, it's already on the way. problem is I won't be home on thursday - can it "
        "go to my work address instead?",
        (
            ("customer", "where's my order?? ordered beans and descaler on monday"),
            (
                "agent",
                "When your order is dispatched we email you a tracking link, and you can also find "
                "it under Orders on kettleby.com. Tracking can take up to 24 hours to show the "
                "first update after dispatch.",
            ),
        ),
        ["can't change the address once the parcel has left our warehouse"],
        [],
        id="sa-252 a long message after an answer goes on from that answer's article",
    ),
    pytest.param(
        "My husband and I are separating and he's deleting his Kettleby account. The Brew is "
        "registered on his account but it's staying here with me. Will it stop working when he "
        "deletes? Can I put it on my own account? Also he pays for Plus through Google Play - "
        "will deleting stop that?",
        (),
        [
            "doesn't stop payments made through the App Store or Google Play",
            "The machine keeps working with its buttons",
        ],
        ["Download your data"],  # the list is long: the items asked, not all of it
        id="sa-467 a question whose best unit the reply quotes already gets the next one",
    ),
    pytest.param(
        "Did the test strip at last - 2 squares went red. We do use the AquaPure filter. The "
        "app says there are 1,380 cups left till the next descale, which I can't make sense "
        "of. Which hardness level does 2 squares count as, how many cups should we get "
        "between descales in total at that level, and where can I see when the next filter "
        "change is due?",
        (),
        ["| Medium (8 to 14 °dH) | 2 red squares |", "Settings > Maintenance"],
        ["| Hard (15 to 21 °dH)"],  # "hardness" is the header's word, not the Hard row's
        id="sa-491 a count told in other words names its row",
    ),
    pytest.param(
        "I'm going to close my Kettleby account. Before I do, I'd like to know three things: "
        "what happens to my saved recipes, how long you'll hang on to my invoices from the "
        "shop, and whether any of my stuff could linger on in your backups afterwards.",
        (),
        ["Until you delete them or delete your account", "7 years after the end", "35 days"],
        [],
        id="sa-495 questions listed after a colon are each answered",
    ),
    pytest.param(
        "The app says my machine is offline and the ring light is pulsing purple. What's going on?",
        (),
        ["the ring light pulses purple"],
        ["Local Network"],  # "going on" is not "go to Privacy & Security"
        id="sa-049 what's going on asks what is happening",
    ),
    pytest.param(
        "Bit annoyed. I uninstalled the Kettleby app from my Android phone back in the summer "
        "because I assumed that was the end of Plus, and Google Play has just taken another "
        "payment. I signed up inside the app originally. How do I actually stop it for good?",
        (),
        ["Deleting the app from your phone does **not** cancel your subscription.", "Google Play"],
        ["Open the Settings app on your iPhone"],
        id="sa-517 uninstalled is deleted: the belief corrected first",
    ),
    pytest.param(
        "My Brew has been doing odd stuff lately (drink sizes all over the place) and the person "
        "on chat said to factory reset it. It's online and shows as connected in the app. What "
        "are the steps? And do I have to set it all up again afterwards or does it just carry on?",
        (),
        [
            "Enter your Kettleby account password to confirm.",
            "connect it to Wi-Fi as if it were new",
        ],
        ["Press and hold the Brew and Steam buttons"],
        id="sa-230 what to do after the steps, from the section after them",
    ),
    pytest.param(
        "Did that, and now the machine has vanished from my app completely!? Have I broken it? "
        "How do I get it back on there?",
        (
            (
                "customer",
                "Support have asked me to factory reset my Brew. It's online and shows as "
                "connected in the app. How do I do it?",
            ),
            (
                "agent",
                "Open the Kettleby app and tap your machine on the Home screen, go to Settings > "
                "Machine > Factory reset, read the warning and tap Reset machine, then enter your "
                "Kettleby account password to confirm.",
            ),
        ),
        ["disappears from your Home screen automatically", "connect it to Wi-Fi as if it were new"],
        [],
        id="sa-542 done the steps: what comes after them",
    ),
    pytest.param(
        "I pay for Plus through the App Store on my iPhone and I'd like to stop it, the free "
        "version is plenty for me these days. How do I cancel? I've saved about 80 recipes over "
        "the last couple of years - what happens to them once I'm back on Free?",
        (),
        ["Tap Cancel Subscription and then Confirm"],
        ["Click Cancel plan", "Open the Google Play Store app"],  # the channel it names
        id="sa-553 how do I cancel: the steps of another source than the plans table",
    ),
    pytest.param(
        "I can't get to any settings for it - the app just shows it as Offline. It's at my mum's "
        "and she has no wifi at all, she's only ever used the buttons. Is there another way?",
        (
            ("customer", "How do I factory reset my Brew? I'm giving it to my nephew."),
            (
                "agent",
                "If it shows as connected in the app, tap your machine on the Home screen, go to "
                "Settings > Machine > Factory reset, tap Reset machine and enter your Kettleby "
                "account password to confirm. The machine restarts in about 2 minutes.",
            ),
        ),
        ["Press and hold the Brew and Steam buttons together", "flashes red three times"],
        ["Use this when the machine is online"],
        id="sa-575 offline: not the sentence for when it is online",
    ),
    pytest.param(
        "can't you just text me the code instead? I don't want another app",
        (
            ("customer", "How do I turn on two-step verification?"),
            (
                "agent",
                "In the app go to Settings > Account > Security, tap Two-step verification and "
                "enter your password, scan the QR code with your authenticator app, enter the "
                "6-digit code and tap Verify, then save your 10 backup codes and tap Done.",
            ),
        ),
        ["We don't send codes by text message"],
        ["scan the QR code"],  # the steps given: their numbering is no word the answer lacks
        id="sa-127 the steps the thread gave are not given again",
    ),
    pytest.param(
        "My Brew is 14 months old and it's started leaking from somewhere inside, round the "
        "seals. I'll be honest, I've been descaling it with white vinegar instead of buying the "
        "sachets. It's still inside the 2 years, so this is covered, right?",
        (),
        ["Damage from using vinegar or other descalers not made for coffee machines"],
        [],
        id="sa-532 so it's covered, right? asks yes or no: both sides of the cover",
    ),
    pytest.param(
        "Trying to set the Brew up on my iPhone and the app just keeps saying No machine found. "
        "The ring light is flashing blue and the phone is right next to it. Confession: I tap "
        "'Don't Allow' on pretty much every pop-up an app shows me, so I probably did that here "
        "too. Would that stop it working?",
        (),
        ["Privacy & Security > Local Network"],
        ["hold the Power button for 3 seconds again"],  # the light says it is in pairing mode
        id="sa-533 a button the message quotes names its cause",
    ),
    pytest.param(
        "Descaled the Brew with the buttons for the first time. After about 20 minutes the ring"
        " light went solid orange, so I emptied the container and assumed that was it. But the "
        "orange drop is still on the display and it won't let me make a coffee. What have I "
        "missed?",
        (),
        ["Press the Brew button again to run the rinse cycle."],
        [],
        id="sa-536 what have I missed: the steps done, with the one left out",
    ),
    pytest.param(
        "Quick one before I set up my new Brew: why does the app want Bluetooth switched on? I "
        "thought the machine worked over wifi. I normally keep Bluetooth off.",
        (),
        ["The app uses Bluetooth to find the machine and then passes your Wi-Fi details to it."],
        ["Create a schedule"],  # "set up my new Brew" is not "Set the time", "+ New schedule"
        id="sa-539 another article adds a word that carries the question, not its lighter ones",
    ),
    pytest.param(
        "Tested our water with the strip, 3 red squares. I don't have the app on my phone "
        "though - can I tell the machine some other way?",
        (),
        ["hold the Hot water button for 10 seconds"],
        ["Good to know"],  # the descaling article's notes hold only "machine" and "app"
        id="sa-105 no second article for the question's lightest words",
    ),
    pytest.param(
        "I'm getting a Brew for my mum, who lives just outside Inverness in the Highlands. What"
        " will delivery cost on that? And every couple of months I'll be sending her a box of "
        "descaler (about \u00a315) - what's the postage up there for that and how long does it take?",
        (),
        ["| £5.95 |", "Kettleby Brew machines ship free** to every destination in the table"],
        [],
        id="sa-526 the note under a table says what its rows apply to",
    ),
    pytest.param(
        "ugh, I got distracted and only just clicked the link in the email - it's been about 2 "
        "hours and now it says the link's no good. what now?",
        (
            ("customer", "forgot my kettleby password, how do i get back in"),
            (
                "agent",
                "On the app's sign-in screen, tap Forgot password?, enter the email address of "
                "your Kettleby account and tap Send link. Open the email from "
                "no-reply@kettleby.com, tap Reset password and choose a new password with at "
                "least 10 characters, then sign in with it.",
            ),
        ),
        ["The link in it works for 60 minutes."],
        [],
        id="sa-479 what now? after the steps failed: the steps again, with their time limit",
    ),
    pytest.param(
        "Ordered a box of your descaler and two bags of beans about ten days ago. I opened the "
        "descaler and used one sachet, then my partner found a full box we'd forgotten about at"
        " the back of the cupboard. Can I send back the opened descaler (2 sachets still "
        "sealed) and one of the bags of beans, which I haven't opened?",
        (),
        ["can only be returned unopened"],
        ["What you need"],
        id="sa-496 opened is what unopened negates",
    ),
    pytest.param(
        "Hi, I'm on Orkney. I've got \u00a345 of beans and descaler in my basket - that's over your "
        "\u00a340 free delivery so it should be free, right? The checkout is still showing a charge."
        " And how long will it take to get up here?",
        (),
        ["| £5.95 | £60 |", "3 to 5 working days"],
        ["| UK mainland |"],
        id="sa-462 Orkney is in the Scottish Highlands and Islands row",
    ),
    pytest.param(
        "Night shift worker here, it's half 2 in the morning and I want a coffee but the app says "
        "my Brew is offline. The ring on the machine is slowly glowing purple, on and off. Should "
        "I unplug it and plug it back in?",
        (),
        ["Don't switch the machine off or unplug it while the light is purple."],
        ["blinks white slowly"],  # that cause's fix is to unplug it: wrong for a purple light
        id="sa-600 the light's colour names the cause",
    ),
    pytest.param(
        "Locked out. New phone, and I have no idea what my Kettleby password was (I'm fairly sure "
        "I made an account with my email, not Google). How do I reset it? And will doing that log "
        "my husband out too? He's signed in on his iPad with the same account.",
        (),
        ["Forgot password?", "signs you out of the app on all your other devices"],
        ["Enter your current password."],  # the customer does not know it
        id="sa-586 no idea what my Kettleby password was: forgotten",
    ),
    pytest.param(
        "It says Google Play. I'm on a Pixel. I'm only cancelling because I'm going travelling "
        "for six months - if I sign up again when I'm back, will my recipes still be there?",
        (
            ("customer", "I want to cancel my Plus subscription for a while. How do I do that?"),
            (
                "agent",
                "It depends on where you subscribed. Open the Kettleby app and go to Settings > "
                "Plan: the line Billed by shows Apple, Google Play or Kettleby, and that tells you "
                "where to cancel. Deleting the app doesn't cancel it.",
            ),
        ),
        ["your recipes and schedules will be just as you left them", "Open the Google Play Store"],
        ["Sign in at my.kettleby.com."],
        id="sa-606 the case the answer said it depends on, named: its steps",
    ),
    pytest.param(
        "Odd, there's nothing wrong with the card. The bank did send me a replacement last month "
        "- same long number, just a new expiry date. Do I still need to do something? If so, how?",
        (
            (
                "customer",
                "Just got an email saying my Kettleby Plus payment didn't go through. I pay on the "
                "website. What happens now?",
            ),
            (
                "agent",
                "We'll try the payment again 3 times over 7 days, and you keep full access during "
                "that time. If all the attempts fail, your account moves to the Free plan until "
                "you add a working card and resubscribe.",
            ),
        ),
        ["you still need to enter the new expiry date", "Click **Replace card**"],
        [],
        id="sa-607 if so, how? whether first, then the steps",
    ),
    pytest.param(
        "I pay monthly for Plus through the App Store on my iPhone. I cancelled today but my "
        "month only renewed 3 days ago. Can you refund the rest of the month I won't be using?",
        (),
        ["We don't give refunds for part of a month", "only they can issue a refund"],
        [],
        id="sa-594 the App Store is Apple: the section for its subscriptions too",
    ),
    pytest.param(
        "I got charged £39.99 yesterday for another year of Plus. I signed up in the app on my "
        "Android phone ages ago and totally forgot it renews. I've cancelled it now - can you "
        "refund me? It's only been a day so surely that's ok",
        (),
        ["only they can issue a refund"],
        [],
        id="sa-368 Android is Google's channel",
    ),
    pytest.param(
        "We pay for Business through your website (not the app store). How do we cancel it?",
        (),
        ["Sign in at my.kettleby.com."],
        ["Tap your name at the top"],  # Apple's steps: the message rules the App Store out
        id="sa-011 not the app store: not Apple's steps",
    ),
    pytest.param(
        "I'm thinking about closing my Kettleby account. Before I do: how long would you hang on "
        "to my old order invoices and the error logs from my machine? And I unsubscribed from "
        "your marketing emails ages ago - do you still keep my details for that?",
        (),
        ["7 years after the end of the financial year", "24 months from when they were recorded"]
        + ["keep only your email address on a do-not-contact list"],
        ["Payment card details"],  # "my details" names its key less than "marketing" names its
        id="sa-590 each clause's row: of two keys named alike, the one named most",
    ),
    pytest.param(
        "I'm in Cardiff and I've got about £30 of beans and filters in my basket. What will normal "
        "delivery cost and how long does it take? And how much would it be to get it the next day "
        "instead - I'm nearly out.",
        (),
        ["| UK mainland | Standard (Royal Mail Tracked 48) |", "| UK mainland | Express (DPD) |"],
        ["| European Union |"],
        id="sa-558 normal delivery is the standard service: its rows and the next day's",
    ),
    pytest.param(
        "We run a co-working space and are thinking about putting 5 Brews on Business across our "
        "floors. What would that cost us a month, how many of our staff could be admins, and what "
        "sort of usage reports do we get - is it just an email summary like on Plus?",
        (),
        ["| Price per month |", "| Team members with admin access |", "| Usage reports |"],
        [],
        id="sa-559 questions listed with commas: a row for each",
    ),
    pytest.param(
        "We've just had a new broadband router fitted (new network name + password) and now the "
        "Brew just shows offline in the app. How do I get it back on? I'm on an iPhone.",
        (),
        ["the machine can't reconnect on its own", "tap **Allow** to give Local Network access"],
        ["Enter your current password."],  # the Wi-Fi password changed, not the account's
        id="sa-133 a case sent to the steps above: the case, then the steps for the phone",
    ),
    pytest.param(
        "We've just switched broadband provider and got a new router, and since then the Brew "
        "won't reconnect at all - the app has it greyed out. I'm on an iPhone 13. What do I need "
        "to do to get it back online with the new wifi?",
        (),
        ["swipe left on the machine on the Home screen", "until the ring light flashes blue"],
        ["Turn on Location"],  # Android's steps
        id="sa-582 a new router is a changed one",
    ),
    pytest.param(
        "Over the last few weeks my coffee's got weaker and weaker, and it's not as hot as it was "
        "either. I always use the biggest cup size. The orange drop thing has been showing for a "
        "while but I didn't think it mattered?",
        (),
        ["If the orange drop icon is showing, descale the machine.", "choose a smaller cup size"],
        [],
        id="sa-597 weaker is weak: the other causes of weak coffee too",
    ),
    pytest.param(
        "E4 again. I've already done the hold-hot-water-for-5-seconds thing and tried making a "
        "drink with the filter taken out, no change. Pump buzzes, hardly anything comes out. The "
        "tank had milk in it at one point (kids...) and to be fair I'm well overdue a descale. "
        "What else can I try?",
        (),
        ["Run a full descaling cycle.", "Press the valve a few times with your finger"],
        ["make a drink without it"],  # tried already
        id="sa-599 what else can I try? the error page's causes not tried yet",
    ),
    pytest.param(
        "We're mounting an old iPad on the kitchen wall as a sort of control panel for the Brew. "
        "It's on iOS 16 - will the app run on it? My husband also wants to know if he could start "
        "a coffee from the browser on his work laptop. And does the machine update itself at "
        "random times? Don't want it busy at breakfast.",
        (),
        ["iOS 16 or later", "can't control the machine or start a drink from a web browser"],
        [],
        id="sa-633 he wants to know if: a question of its own",
    ),
    pytest.param(
        "Email says my Plus payment failed (I pay on your website). The card's in date and "
        "there's money in the account. I did get a text from my bank yesterday asking me to "
        "confirm a payment to Kettleby, but I ignored it because I assumed it was a scam. Could "
        "that be why? And what happens to my Plus now?",
        (),
        ["The bank blocked the payment as unusual.", "You keep full access during this time."],
        [],
        id="sa-627 what happens to my Plus now? means: now the payment failed",
    ),
    pytest.param(
        "Did that - water came out of the wand fine and the code went, but as soon as I tried to "
        "make a coffee E4 was back. Now I think about it, I put a new filter in yesterday, "
        "straight out of the packet. Could that be it?",
        (
            (
                "customer",
                "E4 on the display and the pump's humming but nothing comes out. The tank ran dry "
                "earlier.",
            ),
            (
                "agent",
                "That's usually air in the water line. Fill the tank to the MAX line and push it "
                "down until it clicks, place a cup under the steam wand and hold the Hot water "
                "button for 5 seconds to prime the pump. Let it run until water comes out of the "
                "wand in a steady stream, then press Brew once to clear the code.",
            ),
        ),
        ["Take the filter out of the tank and make a drink without it", "soak the new one first"],
        [],
        id="sa-639 could that be it? asks about the new filter: a brand-new one is new",
    ),
    pytest.param(
        "Hi from Dublin! About to order roughly £100 of beans and filters. Since Brexit I've been "
        "stung with customs fees on parcels from UK shops a couple of times - will that happen "
        "with yours? What's delivery going to cost, how long will it take, and is there a point "
        "where it's free?",
        (),
        ["| European Union | International (DHL) | 4 to 7 working days | £9.95 | £120 |"],
        ["| UK mainland |"],
        id="sa-622 Dublin is in the EU",
    ),
    pytest.param(
        "I'm in Toronto and ordered a Brew from kettleby.com, it came about 3 weeks ago. I've been "
        "using it daily but it's just too big for our kitchen honestly. Can I still send it back "
        "even though it's been used? And who pays to ship it back to the UK?",
        (),
        ["Customers in the EU, the US and Canada pay for return shipping", "even after you've"],
        ["| UK mainland |"],  # the shipping rates of where it goes back to
        id="sa-465 Toronto is in Canada",
    ),
    pytest.param(
        "hi, I live in Dublin and ordered a milk jug + 2 boxes of descaler (unopened) from your "
        "site, want to send the lot back. how does that work for me since I'm not in the UK?",
        (),
        ["book a tracked courier to the address shown on screen"],
        ["| European Union |"],  # where they live names no shipping rate: the return is asked
        id="sa-134 a place the story names is not a row asked for",
    ),
    pytest.param(
        "Thinking of getting a Brew for my dad (he's 82 and lives on his own). Two worries: will "
        "he manage to lift it to wipe behind it, and how often will he be refilling it? He gets "
        "through about four big mugs a day. How heavy is it, and how much do the water tank and "
        "the bean container hold?",
        (),
        ["Weight — Kettleby Brew (KB-200): 8.2 kg.", "Water tank capacity", "250 g"],
        [],
        id="sa-620 the water tank and the bean container: a row each",
    ),
    pytest.param(
        "Doing the weekly clean of the steam wand for the first time. The tip's off and it's been "
        "soaking in soapy water for 20 minutes. What do I do now? Tempted to just run it through "
        "the dishwasher to finish it off tbh.",
        (),
        ["Clear the tip's steam hole with the cleaning pin", "is **not** dishwasher safe"],
        [],
        id="sa-616 tempted to just: what the article says not to do",
    ),
    pytest.param(
        "Giving the Brew a proper clean this morning. I emptied the grounds drawer and popped it "
        "straight back in, and it flashed E5 at me again. Then I took the brew unit out, rinsed "
        "it, put it back, and now it's showing E6 with the red ring. What have I done wrong with "
        "each one?",
        (),
        ["wait 10 seconds before refitting it", "check that nothing (a coffee bean"],
        [],
        id="sa-619 a code that came back: the list for a code that returns",
    ),
    pytest.param(
        "Bit of a morning at the cafe. One of our Brews is showing E6 and the other one's on E2, "
        "both with the red ring light. What does each one mean and how do I get them going again "
        "quickly?",
        (),
        ["Brew unit not detected", "Water tank empty"],
        # "going again" is not a code that came back: not the list of returning codes, only
        # (after the rows) what it says of E6
        ["**E5:**", "**E7:**"],
        id="sa-365 going again is not a code coming back",
    ),
    pytest.param(
        "I'm about to delete my Kettleby account (moving abroad, won't need it any more). Two "
        "questions before I do. Do you actually get rid of the receipts and invoices for the "
        "things I've bought from you? And if I regret it after pressing delete, is there any way "
        "back?",
        (),
        ["invoices for things you bought, must be kept by law", "You have **14 days**"],
        ["Type DELETE in capital letters"],  # "won't need it" is no problem to fix
        id="sa-564 regretting it is changing your mind",
    ),
    pytest.param(
        "I went through deleting my Kettleby account in the app last night, but I haven't had any "
        "email about it so I'm not sure it actually went through. Also my son wants to put our "
        "Brew on his own account now - can he do that?",
        (),
        ["You'll get a confirmation email straight away."],
        [],
        id="sa-632 not sure it went through asks",
    ),
    pytest.param(
        "It's running now, app says about 25 mins. Can I quickly make myself a coffee while it's "
        "doing its thing?",
        (
            ("customer", "orange drop is on, how do I descale with the app?"),
            (
                "agent",
                "In the app, tap your machine and go to Settings > Maintenance > Descale. Take the "
                "water filter out, pour one sachet of descaler into the tank and fill it with water "
                "up to the MAX line, put a container under the spout and tap Start descaling.",
            ),
        ),
        ["locks the drink buttons until the rinse is done"],
        ["Descale on the machine (without the app)"],  # descaling with the app, said the thread
        id="sa-222 a coffee is a drink; with the app, not the steps without it",
    ),
    pytest.param(
        "can I make the machine stay on longer before it switches itself off?",
        (),
        ["anything from 10 to 120 minutes", "Settings > Machine > Auto-off"],
        [],
        id="sa-057 switching itself off is its auto-off",
    ),
    pytest.param(
        "That's working, thanks. Only thing is the first latte is always a bit on the cool side at "
        "that time of the morning. Is there something I can switch on for that, and how do I get "
        "back into the schedule now I've already saved it?",
        (
            ("customer", "How do I get the Brew to make me a latte at 6.30 every weekday?"),
            (
                "agent",
                "In the Kettleby app, tap your machine and then Schedules, and tap + New schedule. "
                "Choose the drink and the cup size, set the time to 6:30 and pick Monday to Friday "
                "to repeat, then tap Save. A small clock icon appears on the machine's display.",
            ),
        ),
        ["Preheat 10 minutes early", "Tap the schedule in the **Schedules** list to change it."],
        [],
        id="sa-638 getting back into a saved schedule is editing it",
    ),
    pytest.param(
        "I'm ordering three Brews plus some descaler and beans for our office in Galway, about "
        "£1,150 all in. Will anyone at our end get hit with import charges when it arrives in "
        "Ireland? Do we pay delivery on the machines? And will somebody need to be there to sign "
        "for it?",
        (),
        [
            "Orders worth more than £1,000 are sent with a signature required",
            "Kettleby Brew machines ship free",
            "delivered duties paid",
        ],
        [],
        id="sa-661 signing for it is a signature on delivery",
    ),
    pytest.param(
        "I've switched from a dark roast to a light Kenyan from a local roaster - the bag says it "
        "was roasted on Saturday, so four days ago. Every espresso since has been thin and sour. "
        "The temperature is still on Medium from when I had the dark beans. What should I change?",
        (),
        ["Beans roasted less than 7 days ago", "Let them rest a few more days"],
        ["choose **Medium (92 °C)**"],  # what the customer has already
        id="sa-647 still on Medium is what they have, not the fix",
    ),
    pytest.param(
        "After Sunday brunch (I made about eight flat whites back to back) there was a little bit "
        "of water under the Brew, maybe a spoonful, and the steam wand kept dripping onto the "
        "counter for a bit after each one. The tank's seated properly and the drip tray isn't "
        "full. Should I be worried?",
        (),
        ["up to about a tablespoon is normal", "it isn't a leak"],
        [],
        id="sa-656 should I be worried asks whether it is normal",
    ),
    pytest.param(
        "Descaled through the app last night. The descaling part ran fine, then the app asked me "
        "to rinse and I got distracted and closed it. This morning the orange drop is still "
        "showing and the coffee buttons don't do anything. What have I missed?",
        (),
        [
            "rinse the tank, refill it with fresh water and tap **Start rinse**",
            "The app clears the descale reminder automatically",
            # why the coffee buttons don't do anything
            "the machine locks the drink buttons until the rinse is done",
        ],
        ["Descale on the machine (without the app)"],  # through the app, said the customer
        id="sa-673 what have I missed: the steps followed, through the app",
    ),
    pytest.param(
        "Trying to set the Brew up from my iPhone while I'm out in the garden office - the "
        "machine's in the kitchen, maybe 15 metres away through two walls. The blue light is "
        "flashing. I also think I said no to a popup about finding devices on my network. The "
        "app just says No machine found.",
        (),
        ["Setup uses Bluetooth", "stand within 2 metres of the machine"],
        ["tap **+ Add machine**"],  # the setup steps it is following already
        id='sa-664 the screen\'s message a heading quotes: During setup: "No machine found"',
    ),
    pytest.param(
        "Descaled the Brew with the buttons for the first time. After about 20 minutes the ring "
        "light went solid orange, so I emptied the container and assumed that was it. But the "
        "orange drop is still on the display and it won't let me make a coffee. What have I "
        "missed?",
        (),
        ["Press the Brew button again to run the rinse cycle", "locks the drink buttons"],
        [],
        id="sa-536 what it won't let me do: why, from the answer's article",
    ),
    pytest.param(
        "Keep finding a little puddle on the worktop under the side where the water tank sits, "
        "usually after I've refilled it. I tend to just plonk the tank back on and it sometimes "
        "looks a bit wonky. Separately - what's the red thing that sometimes sticks up through "
        "the drip tray grille?",
        (),
        [
            "The drip tray has a red float",
            "If the tank sits at an angle, water can escape around its valve",
            "push it straight down until it clicks",
        ],
        [],
        id="sa-624 a report set apart by 'Separately' is answered too; wonky is at an angle",
    ),
    pytest.param(
        "My espresso's been bitter for a while. This morning I turned the grind dial one notch "
        "coarser (while it was grinding, like the booklet says) and at the same time put the "
        "temperature up to High because I like it hot. Made one cup straight after - still "
        "horribly bitter. Does changing the grind just not work?",
        (),
        ["Change one setting at a time", "Dark roasts turn bitter at high temperatures"],
        [],
        id="sa-625 the customer's own change may be the cause",
    ),
    pytest.param(
        "I clicked Return items on my order yesterday for a milk jug I don't need (still boxed, "
        "it arrived last week, I'm in Leeds). I won't get to the post office for a while - how "
        "long have I got to send it? And how will I know it's reached you, and when will I see "
        "my money?",
        (),
        [
            "send them within 14 days of starting the return",
            "We'll email you when the return arrives and again when the refund is issued",
        ],
        ["After an hour your order is already being packed"],
        id="sa-628 the button the customer clicked: the procedure it belongs to",
    ),
    pytest.param(
        "I went through deleting my Kettleby account in the app last night, but I haven't had any "
        "email about it so I'm not sure it actually went through. Also my son wants to put our "
        "Brew on his own account now - can he do that? And I'm honestly not 100% sure I won't "
        "want the account back.",
        (),
        ["You'll get a confirmation email straight away", "tap **Keep my account**"],
        [],
        id="sa-632 not sure I won't want the account back: a change of mind",
    ),
    pytest.param(
        "Perfect. The only container I've got that fits under there is a 1-litre jug - will that "
        "do? And how long will the machine be out of action? We've got people coming round at 11 "
        "and I'll want to make them coffees.",
        (
            ("customer", "The orange drop has come on. How do I descale it with the app?"),
            (
                "agent",
                "Open the Kettleby app and tap your machine on the Home screen, then go to "
                "Settings > Maintenance > Descale. Take the water filter out of the tank, pour one "
                "sachet of descaler into the tank and fill it with water up to the MAX line, place "
                "a container under the coffee spout and tap Start descaling. When the app asks, "
                "rinse the tank, refill it with fresh water and tap Start rinse, then put the "
                "water filter back in.",
            ),
        ),
        [
            "A container that holds at least 1.5 litres",
            "About 25 minutes",
            "the machine locks the drink buttons until the rinse is done",
        ],
        [],
        id="sa-636 I'll want to make them coffees: a plan the article says not to",
    ),
    pytest.param(
        "We started the Business free trial on my.kettleby.com for our design studio last week, "
        "but honestly it's overkill for two machines. How do I cancel it on the website? And will "
        "we still get charged when the trial would have ended?",
        (),
        [
            "Click Cancel plan, tell us why you're leaving and click Confirm cancellation",
            "Cancelling during a free trial ends the trial straight away, and you won't be charged",
        ],
        [],
        id="sa-645 how do I cancel on the website: the procedure 'On the web'",
    ),
    pytest.param(
        "Got an email saying my Plus payment failed - my bank cancelled my card after some fraud "
        "and the replacement could take another 10 days or so. I pay on your website. What "
        "happens if you can't take the money before then? Will I lose my recipes and schedules?",
        (),
        [
            # "If all the attempts fail" with the sentences it points back to, whole
            "We'll email you and try the payment again 3 times over 7 days. You keep full access "
            "during this time. If all the attempts fail",
        ],
        [],
        id="sa-666 a payment you can't take fails; the attempts, with the sentence naming them",
    ),
    pytest.param(
        "Every time I've steamed milk the wand keeps dripping onto the counter for a while "
        "afterwards. drip drip drip. is something broken? machine is only 2 months old",
        (),
        ["a few drops of condensed water can drip from the wand for about a minute", "normal"],
        [],
        id="sa-247 is something broken asks whether it is normal",
    ),
    pytest.param(
        "Little puddle appearing under where the water tank sits on the Brew, started this week. "
        "I've had a look at the rubber ring on the bottom of the tank and it looks perfect. I do "
        "tend to slam it back on in a rush in the mornings though... could that be it?",
        (),
        [
            "If the tank sits at an angle, water can escape around its valve",
            "push it straight down until it clicks",
        ],
        ["Check the small rubber ring"],  # the customer has, and it looks perfect
        id="sa-471 a part checked and fine is not the cause; slamming the tank on is its seating",
    ),
    pytest.param(
        "I've been hunting all over my.kettleby.com for the two-step verification setting and "
        "can't find it anywhere. I already use Microsoft Authenticator for work stuff. Where do I "
        "actually turn it on for my Kettleby account?",
        (),
        ["scan the QR code shown on screen"],
        ["Turn off"],  # the customer asks to turn it on
        id="sa-520 turning it on: not the section that turns it off",
    ),
    pytest.param(
        "I don't want to close my account, but I do want Kettleby to stop using my personal "
        "details for marketing and to cut back what you use my data for generally. Not just an "
        "unsubscribe link, I mean properly, under GDPR. How do I go about that?",
        (),
        ["stop or limit using your data", "privacy@kettleby.com"],
        # the retention table's row names marketing, but says only how long it is kept
        ["Until you unsubscribe"],
        id="sa-298 a row of times answers a how-long question, not one that names its key",
    ),
    pytest.param(
        "My Plus free trial runs out on Thursday at about 10am and I've decided not to keep it. "
        "I'm flat out at work until Wednesday night - if I cancel then, am I safe from being "
        "charged? And if I do get charged, am I stuck with it?",
        (),
        ["at least 24 hours before the trial ends", "contact us within 7 days"],
        # "For refunds, see *Subscription refund policy*": the one word "refunds" named *How
        # refunds are paid*; the question's own best section of that policy answers
        ["3 to 5 business days"],
        id="sa-401 a pointer naming one word of a heading: the question's best section of it",
    ),
    pytest.param(
        "I had you delete my account last week. I work in IT so I know how backups work - is my "
        "data still sitting in yours, and for how long? Also, does the usage info from my machine "
        "live on in your statistics somewhere?",
        (),
        ["within **35 days**", "can't be linked back to you"],
        # "for how long?" asks how long backups hold it, not how long each kind of data is kept
        ["| Type of data |"],
        id="sa-468 a how-long question that does not ask what is kept: not the retention table",
    ),
    pytest.param(
        "Treated myself to a bag of fancy light-roast Ethiopian from a local roaster. The bag "
        "says roasted on Monday, so it's super fresh (it's Thursday). But every cup out of the "
        "Brew tastes sharp and sour, almost lemony. My usual supermarket dark roast was fine. The "
        "grind's on 6. What am I doing wrong?",
        (),
        ["turn the grind dial one step finer", "High (96 °C)", "Beans roasted less than 7 days"],
        # "sour" names one of the article's problems (each over its causes): not a bitter cause,
        # however well "dark roast" matches it
        ["Medium (92 °C)", "one step coarser"],
        id="sa-727 the one problem a message names: its causes, not a sibling problem's",
    ),
    pytest.param(
        "Every morning there's a little puddle on the worktop right under where the water tank "
        "sits. Drip tray's empty, nothing coming from the back. I fill the tank at the sink and "
        "drop it back on in a bit of a rush before work, if that makes any difference. What's "
        "going on?",
        (),
        ["push it straight down until it clicks", "order a replacement tank seal"],
        # "Water in front of the machine" is the other problem; "nothing coming from the back"
        ["pull the drip tray out", "internal pipes"],
        id="sa-720 water under the tank: its causes, not the drip tray nor the back",
    ),
    pytest.param(
        "Every time I make my morning flat white I find a little wet patch on the counter under "
        "the steam arm a few minutes later. Drip tray is empty, water tank seems fine. Is "
        "something wrong with the wand?",
        (),
        ["purge the wand briefly"],
        # "water tank seems fine" rules the tank out; it does not name its problem
        ["push it straight down until it clicks"],
        id="sa-567 a part the message says is fine does not name its problem",
    ),
    pytest.param(
        "Trying to set up the Brew from the living room with my Pixel (the kitchen's through two "
        "walls but the router's in here so I thought that'd be better). The ring light's flashing "
        "blue but the app keeps saying 'No machine found'. I'm a bit of a privacy nerd so I "
        "always have a VPN running on the phone plus an ad blocker. Could any of that be messing "
        "with it?",
        (),
        # "Could any of that be messing with it?" asks about the sentence before it, and about
        # the problem's causes: the other causes too
        ["pause the VPN or ad blocker until setup is complete", "stand within 2 metres"],
        [],
        id="sa-713 could any of that be it: the sentence before is asked about",
    ),
    pytest.param(
        "Trying to work out where on earth a Brew would go in our tiny rented kitchen. The gap "
        "under the wall cupboards is about 45cm and the nearest socket is a little way along the "
        "worktop. How tall does it get when you open the lid to put beans in, what's its "
        "footprint, and how long is the lead?",
        (),
        ["48 cm", "24 x 43 x 36 cm", "1.2 m"],
        ["1,450 W"],
        id="sa-722 a lead is a cable, a footprint its dimensions",
    ),
    pytest.param(
        "Hello from Toronto! We bought our Brew from you last year and I'm running low on beans "
        "and filters - about £70 worth in my basket. What does shipping to Canada cost, how long "
        "does it take to get here, and am I going to get stung with customs charges at the door?",
        (),
        ["£14.95", "5 to 8 working days", "delivered duties paid"],
        [],
        id="sa-735 customs charges are the import duties",
    ),
    pytest.param(
        "Been making coffees for the whole book club, eight or nine back to back, and the Brew's "
        "just stopped dead with a red ring and E7 on the display. What's it trying to tell me? It "
        "lives squashed into the corner right up against the tiles, if that's relevant at all.",
        (),
        # the row, and what the article's list of returning codes says of E7 alone
        ["| E7 | Machine overheated |", "at least 10 cm from the wall"],
        ["**E5:**", "**E1 or E6:**"],
        id="sa-710 a row's key labels an item elsewhere in the article: that item too",
    ),
    pytest.param(
        "machine says E5 what do i do",
        (),
        ["| E5 | Grounds drawer full |", "the drawer sensor counts pucks"],
        ["**E7:**"],  # the item, once, not its whole list again
        id="sa-026 the row's item once, not its list again",
    ),
    pytest.param(
        "Great, got it going - then my husband switched the machine off at the wall about ten "
        "minutes in because he thought it was broken. It's back on now but the orange drop is "
        "still showing. Do I have to start all over again, and from where?",
        (
            (
                "customer",
                "The orange drop has come on. How do I descale without the app? My phone's dead.",
            ),
            (
                "agent",
                "Take the water filter out of the tank, pour one sachet of descaler in and fill "
                "with water up to the MAX line. Press and hold the Steam and Hot water buttons "
                "together for 5 seconds until the ring light pulses orange, put a container under "
                "the coffee spout and press the Brew button to start the cycle.",
            ),
        ),
        # "start again from step 3": the steps it names, though the thread gave them; never the
        # app's steps for a customer descaling without the app
        ["start again from step 3", "3. Press and hold the Steam and Hot water buttons together"],
        ["Start descaling"],
        id="sa-715 start again from step 3: those steps; without the app: not the app's",
    ),
    pytest.param(
        "Before I sign up to anything these days I like to know how I'd complain if it went wrong. "
        "If I wasn't happy with how Kettleby had handled my personal data, who would I actually "
        "contact about it, and am I able to go to the ICO?",
        (),
        ["dpo@kettleby.com", "Information Commissioner's Office"],
        [],
        id="sa-730 if …, who would I contact: a question, and the ICO another",
    ),
    pytest.param(
        "Little puddle appearing under where the water tank sits on the Brew, started this week. "
        "I've had a look at the rubber ring on the bottom of the tank and it looks perfect. I do "
        "tend to slam it back on in a rush in the mornings though... could that be it?",
        (),
        ["push it straight down until it clicks"],
        ["order a replacement tank seal"],  # the ring "looks perfect": not that cause
        id="sa-471 a cause the message rules out is not listed with the others",
    ),
    pytest.param(
        "Done, and the zip's come through - but like an idiot I unticked recipes, which were the "
        "whole reason I wanted it. Can I just run another one straight away? And what format will "
        "the recipes be in when I do get them? I want to load them into another coffee app.",
        (
            ("customer", "How do I download all my data from Kettleby?"),
            (
                "agent",
                "Sign in at my.kettleby.com, go to Account > Privacy > Download my data, tick the "
                "data you want to include (or leave everything ticked) and click Request export. "
                "We'll email you when it's ready, usually within a few minutes, and you download "
                "the ZIP file from the link in that email.",
            ),
        ),
        ["You can request one export every 24 hours.", "JSON format"],
        [],
        id="sa-724 run another one: request another export",
    ),
    pytest.param(
        "Our cafe's Brew (it's on the Business plan) has just had its grinder die. It's only 10 "
        "months old but the app says it's done about 31,000 cups - we're busy! Is it still under "
        "warranty? If not, what are our options?",
        (),
        ["1 year or 30,000 cups", "We still repair machines after the warranty ends"],
        [],
        id="sa-466 under warranty? if not, what are our options: after the warranty ends",
    ),
    pytest.param(
        "Right, I've cancelled my Plus and saved my recipes off already, so I'm ready to close "
        "the Kettleby account for good. How do I actually do it in the app? I signed up with my "
        "Apple ID originally if that changes anything, I've never had a proper Kettleby password.",
        (),
        ["Settings > Account > Delete account", "Type DELETE in capital letters"],
        ["Settings > Account > Password"],  # "password" is the story, "do it" the closing
        id="sa-742 how do I actually do it: what the sentence before wants done (was sent)",
    ),
    pytest.param(
        "I'm on yearly Plus, paid on my.kettleby.com, renewed in February. Money's a bit tight so "
        "I'd rather pay monthly from now on. If I switch, when does monthly actually start? And "
        "roughly how much extra will that cost me over a year?",
        (),
        ["This takes effect when your current year ends", "cost about 17% less"],
        ["A downgrade (for example"],  # "I'd rather" is "I want to", not a word to match
        id="sa-755 I'd rather pay monthly: how much extra is the yearly saving",
    ),
    pytest.param(
        "My in-laws bought us a Brew off your website as a wedding present. We've used it a few "
        "times but honestly we already had a machine and don't need two. Can it still go back "
        "even though it's been used? And would the money go to them or to us?",
        (),
        ["can be returned even after you've used them", "issued as an e-gift card"],
        ["Business plan"],  # "money" is the refund, not a Business plan's credit "as money"
        id="sa-752 a wedding present is a gift; where the money goes is the refund",
    ),
    pytest.param(
        "I want to send you a subject access request but my Kettleby account is on an old hotmail "
        "address I barely check. Can I just email from my work address instead? And how long do "
        "you have to reply?",
        (),
        ["If you write from a different address", "we reply within one month"],
        [],
        id="sa-756 from my work address: a different address",
    ),
    pytest.param(
        "I'm literally 10 minutes' drive from your place in Leeds. Rather than pay for postage on "
        "a few bags of beans, can I just order online and pop in to pick them up?",
        (),
        ["we don't offer collection from our warehouse", "All orders are sent by courier"],
        ["The rates above apply"],  # "rather than pay for postage": not the shipping rates
        id="sa-762 pop in to pick them up: collection; rather than postage rules out shipping",
    ),
    pytest.param(
        "Lovely, set up for 6:45 weekdays. Two things I'm slightly nervous about - will it realise "
        "if I've forgotten to leave a mug out? And what happens if the tank's empty when it goes "
        "off?",
        (
            (
                "customer",
                "Can I get the Brew to make my coffee automatically before I get up on workdays?",
            ),
            (
                "agent",
                "Yes, with a schedule. In the app, tap your machine and then Schedules, tap + New "
                "schedule, choose the drink and cup size, set the time and pick the days to "
                "repeat, then tap Save. A small clock icon then appears on the machine's display.",
            ),
        ),
        ["The Brew can't check that a cup is there", "Schedule skipped"],
        [],
        id="sa-765 will it realise … a mug: what the machine can check for a cup",
    ),
    pytest.param(
        "Getting E4 again. I've already primed it with the hot water button, tried it without the "
        "filter, and it was descaled a fortnight ago, so none of those. One thing I did notice - "
        "my son washed the tank in the sink with a load of milky cereal bowls, and the little pin "
        "thing in the bottom of the tank feels a bit sticky and doesn't spring back properly. "
        "Could that be it?",
        (),
        ["can stick if coffee or milk residue gets on it", "Press the valve a few times"],
        # "I did notice" is not something done; "it was descaled" is: not the limescale cause
        ["Run a full descaling cycle"],
        id="sa-758 sticky, milky, the bottom: the dirty valve; what was noticed is not tried",
    ),
    pytest.param(
        "brew is showing E4 and buzzing at me. the little booklet just says 'no water flow' which "
        "isn't much help - what does it actually mean, has the pump died?? tank is full. had it 2 "
        "yrs and never seen this before",
        (),
        ["flow meter didn't detect water", "Hold the Hot water button for 5 seconds"],
        ["Follow the steps in"],  # the error table's row only points to the E4 page
        id="sa-439 a row that only points to another source: that source answers",
    ),
    pytest.param(
        "Trying to add our new Brew and the app just keeps saying no machine found. The machine "
        "is out in the utility room and I'm on the sofa in the lounge with my phone, the ring is "
        "flashing blue like it should. I also have a VPN on my phone for work, no idea if that "
        "matters.",
        (),
        ["stand within 2 metres of the machine", "pause the VPN or ad blocker"],
        [],
        id="sa-759 a cause the message names (a VPN) is listed, whatever its place",
    ),
    pytest.param(
        "Trying to set the Brew up from the sofa - the machine's in the kitchen at the other end "
        "of the house. Blue light is flashing, I allowed all the permissions, no VPN, but the app "
        "still says No machine found. Any ideas?",
        (),
        ["stand within 2 metres of the machine"],
        ["pause the VPN or ad blocker", "allow Nearby devices"],  # "no VPN", "I allowed"
        id="sa-277 'no VPN' and 'I allowed all the permissions' rule those causes out",
    ),
    pytest.param(
        "I'm on Plus, which I pay for on your website rather than through the app store. We've "
        "just put a second Brew in the studio where I run my pottery classes and I think "
        "Business would suit us better now. Where do I change it over, and can I see what it's "
        "going to cost before I commit to anything?",
        (),
        ["Review change", "takes effect immediately"],
        ["takes effect at the end of your current billing period"],  # not the downgrade
        id="sa-718 the change asked is the section's example 'from Plus to Business': upgrading",
    ),
    pytest.param(
        "Bought a bag of the dark roast beans from you last week, opened it and honestly I hate "
        "them. Can I send the rest back for a refund?",
        (),
        ["can only be returned unopened"],
        ["Gift cards"],  # the rule for the customer's thing, not the whole list
        id="sa-113 a rule list's item labelled with what the customer has (beans)",
    ),
    pytest.param(
        "Had my Brew about 8 months. The little frothing tip on the steam wand has gone a bit "
        "perished and the milk doesn't foam like it did. The machine's still under its 2 year "
        "guarantee so can I get the tip swapped under warranty?",
        (),
        ["frothing tip: 6 months", "Normal wear of parts such as seals and the frothing tip"],
        [],
        id="sa-753 '… so can I get it swapped under warranty?' asks if it is covered: both sides",
    ),
    pytest.param(
        "Accidentally deleted the dispatch email with the tracking link in it 🙈 is there "
        "anywhere else I can see where my parcel's got to?",
        (),
        ["under **Orders** on kettleby.com"],
        ["We can't change the address"],
        id="sa-379 where my parcel's got to: tracking the order",
    ),
    pytest.param(
        "I'm on the free version of the app at the moment. If something goes wrong, is there "
        "actually anyone I can contact? And if I paid for Plus what would I get support-wise - "
        "and do you get any sort of stats on how much coffee you're drinking?",
        (),
        ["Email support within 48 hours", "Monthly email summary"],  # "support-wise": support
        [],
        id="sa-779 support-wise",
    ),
    pytest.param(
        "Need a bag of beans for a dinner party on Friday - it's Wednesday morning and I'm in "
        "Nottingham. What's the quickest delivery option you've got? And if I bulk the order up "
        "a bit, is the fast one free?",
        (),
        ["Next working day", "No free express shipping"],  # the quickest: express
        [],
        id="sa-780 the fast one",
    ),
    pytest.param(
        "Red light and E9 on the screen. I've turned it off and on again, still there. What "
        "does that one mean? And if I need to give someone the serial number where on earth is "
        "it, there's nothing on the back",
        (),
        ["Internal sensor fault", "printed on the sticker under the drip tray"],  # where it is
        [],
        id="sa-781 where the serial number is",
    ),
    pytest.param(
        "Bit of a privacy-nerd question. How long do you keep the recipes I've saved in the app "
        "on your servers? And is my whole brew history kept forever or does it get trimmed at "
        "some point?",
        (),
        [
            "Until you delete them or delete your account",  # the row named, not one with years
            "older entries are deleted automatically",  # a sentence with a pointer aside
        ],
        ["24 months from when they were recorded"],
        id="sa-783 the recipes row",
    ),
    pytest.param(
        "Two things. I got my Brew from Argos last month and it's not really for me - can I just "
        "send it back to you instead, seeing as you make it? Also I bought a £50 Kettleby "
        "gift card on your site for my brother but it turns out he's already got one. Can that "
        "go back?",
        (),
        ["if you bought from another retailer, please return the item to them", "Gift cards"],
        [],
        id="sa-786 bought from Argos",
    ),
    pytest.param(
        "Just put a fresh AquaPure in (was in a rush so skipped the soaking bit) and now hardly "
        "any water comes through for the first couple of cups. Also the filter keeps bobbing up "
        "off the bottom of the tank. Have I been sent a dud?",
        (),
        [
            "It wasn't pushed down far enough",  # "a dud": "Is it broken?"
            "air trapped in the cartridge can stop water from flowing",  # "skipped the soaking"
        ],
        ["Recycling used filters"],
        id="sa-791 skipped the soak",
    ),
    pytest.param(
        "Two quick ones: does the app have a dark mode? I check it first thing in the morning "
        "and it's blinding. And is there a version for my Apple Watch?",
        (),
        [
            "follows your phone's light or dark setting",
            "We don't currently have an app for smartwatches",
        ],
        ["Is there a web version?"],
        id="sa-793 a watch",
    ),
    pytest.param(
        "Done that, ta. My first coffee comes out a bit lukewarm though, is there anything in the "
        "schedule settings for that? And how do I get rid of one I set up by mistake for Sundays?",
        (
            ("customer", "Can the Brew make my coffee before my alarm goes off?"),
            (
                "agent",
                "Yes, with a schedule. In the app, tap your machine and then Schedules, tap + New "
                "schedule, choose the drink and cup size, set the time and the days it should "
                "repeat, then tap Save.",
            ),
        ),
        ["Preheat 10 minutes early", "swipe left on the schedule and tap **Delete**"],
        # a one-sentence procedure that holds next to nothing asked ("… without deleting them")
        ["Pause all"],
        id="sa-796 get rid of one",
    ),
    pytest.param(
        "Still getting E4 after going through everything on your E4 page - primed it with the "
        "hot water button, tried it with the filter out, ran a descale, and pressed the valve "
        "under the tap. The pump just buzzes. My partner's quite handy and reckons he can take "
        "the back off and have a look at the pump himself. Is that OK, or what's the next step?",
        (),
        ["stop using the machine and contact support", "Don't open the casing yourself"],
        [],
        id="sa-565 everything tried",
    ),
    pytest.param(
        "E4 again. Tank is full and clicked in, I did the hold-the-hot-water-button thing and "
        "water came out of the steam wand fine, but the very next drink it was back to E4. I "
        "descaled two weeks ago and I even tried a drink with the filter out - still E4. The "
        "only other thing I can think of is my daughter washed the tank in the sink with the "
        "milk jug and it had a milky film on the bottom. What's left to try?",
        (),
        ["The small valve in the base of the tank can stick", "stop using the machine"],
        [],
        id="sa-695 several fixes tried",
    ),
    pytest.param(
        "Had the Brew a week. Every espresso is harsh and bitter, almost burnt, even with a "
        "medium roast and the temperature already on Medium. A friend reckons it's the grind, "
        "but I can't even see where you change that on this machine. Help?",
        (),
        [
            "turn the grind dial one step coarser",
            "The grind dial is on top of the bean hopper",  # where the part the fix turns is
            "Only turn the dial while the grinder is running",
        ],
        [],
        id="sa-535 where the grind dial is",
    ),
    pytest.param(
        "After Sunday brunch (I made about eight flat whites back to back) there was a little "
        "bit of water under the Brew, maybe a spoonful, and the steam wand kept dripping onto "
        "the counter for a bit after each one. The tank's seated properly and the drip tray "
        "isn't full. Should I be worried?",
        (),
        [
            "up to about a tablespoon is normal",
            "leave a cup under the wand after frothing",  # the second thing told, by its cause
        ],
        ["The drip tray has a red float"],  # "the drip tray isn't full"
        id="sa-656 two things told",
    ),
    pytest.param(
        "Hi, I signed up for Plus inside the app on my Samsung a few months back and to be "
        "honest I never use the extra bits. I've been through every menu in the Kettleby app and "
        "there's no cancel button anywhere?? How do I stop paying for it",
        (),
        ["Open the Google Play Store app", "Select the Kettleby subscription"],  # Samsung
        ["Sign in at my.kettleby.com"],  # "the Kettleby app" is not "billed by Kettleby"
        id="sa-773 on a Samsung",
    ),
    pytest.param(
        "Put a fresh AquaPure in this morning, straight out of the packet because I was running "
        "late, and now the Brew's barely giving me any water for the first few drinks. Also, "
        "when I look in the tank, the filter's sort of bobbing up rather than sitting down in "
        "its socket. Have I got a dud?",
        (),
        ["air trapped in the cartridge can stop water from flowing"],  # not soaked first
        [],
        id="sa-736 straight out of the packet",
    ),
    pytest.param(
        "Sorted, thanks! One thing though - our broadband provider is sending a new router next "
        "week with a different network name and password. Will the Brew find it by itself, or "
        "is there something I'll need to do?",
        (
            ("customer", "Just got the Brew. How do I connect it to Wi-Fi? I'm on an iPhone."),
            (
                "agent",
                "Hold the Power button for 3 seconds until the ring light flashes blue, open the "
                "Kettleby app and tap + Add machine, tap Allow when iOS asks for Local Network "
                "access, choose your 2.4 GHz network and enter its password, wait for the ring "
                "light to turn solid white, then name your machine and tap Done.",
            ),
        ),
        # "If you change your router or your Wi-Fi password": its first alternative met
        ["the machine can't reconnect on its own", "add it again using the steps above"],
        [],
        id="sa-698 a new router",
    ),
    pytest.param(
        # "slowly fading purple" is the light's colour: the update that pulses purple, not the
        # Wi-Fi cause whose light "blinks white slowly" (sent, incomplete, until session 42)
        "App says my Brew's offline this morning. The light on the front is slowly fading "
        "purple on and off. Should I unplug it and plug it back in? Been like this about 5 mins",
        (),
        ["the ring light pulses purple", "Don't switch the machine off or unplug it while"],
        ["blinks white slowly"],
        id="sa-821 a light fading purple",
    ),
    pytest.param(
        # "the drip tray's fine": not the full drip tray; "only started after I took the tank
        # out": what set it off, not a fix tried (the tank's causes had been ruled out)
        "Keep finding a little puddle right under where the water tank sits - not at the front, "
        "the drip tray's fine. Only started after I took the tank out to give it a wash. Any "
        "ideas?",
        (),
        ["If the tank sits at an angle", "order a replacement tank seal"],
        ["The drip tray has a red float"],
        id="sa-824 what set it off, and the part that is fine",
    ),
    pytest.param(
        # "What should I change?" about bitter coffee asks for a cause's fix: the filter's and
        # the factory reset's procedures (each "how"-bonused, holding little of it) had led
        "Switched to a really dark Italian roast and now every espresso tastes burnt and harsh. "
        "Grind is on 3 I think. What should I change? And can I just twist the dial whenever or "
        "does the machine need to be doing something at the time",
        (),
        [
            "turn the grind dial one step coarser",
            "Dark roasts turn bitter at high temperatures",
            "Only turn the dial while the grinder is running",
        ],
        ["Soak the new AquaPure filter", "Switch the machine off with the Power button"],
        id="sa-822 what should I change: the fixes",
    ),
    pytest.param(
        # "And just out of interest, what happens if …" asks, with no question mark; its words
        # name all of the heading "Lost your phone and your backup codes?"
        "Done, ta. Am I going to have to type a code in every single time I open the app to "
        "make a coffee? And just out of interest, what happens if I lose my phone and I've "
        "somehow lost the backup codes as well",
        (
            ("customer", "How do I turn on two-step verification for my Kettleby account?"),
            (
                "agent",
                "In the Kettleby app, go to Settings > Account > Security, tap Two-step "
                "verification and enter your password. Scan the QR code with your authenticator "
                "app, enter the 6-digit code it shows and tap Verify, then save your 10 backup "
                "codes somewhere safe and tap Done.",
            ),
        ),
        ["we need to verify your identity before we can switch off two-step verification"],
        [],
        id="sa-829 a question heading asked in other words",
    ),
    pytest.param(
        # "If you are selling the machine, …" is met by "Selling my Brew": the machine by name
        "Selling my Brew on Facebook Marketplace now we've got a bean-to-cup at work lol. It's "
        "still connected and shows up in the app fine. How do I wipe it back to factory "
        "settings before the buyer collects it at the weekend? Don't want them getting any of my "
        "stuff",
        (),
        ["tap **Reset machine**", "a machine can only belong to one Kettleby account at a time"],
        [],
        id="sa-805 selling the Brew is selling the machine",
    ),
    pytest.param(
        # "refurbished … Brews" owns no machine: the selling note (met by "my Brew") is not added
        "Do you sell refurbished or ex-display Brews at all? I'd happily take one with a scuff "
        "or two if it's cheaper",
        (),
        [],
        ["If you are selling the machine"],
        id="sa-323 Brews for sale are not the customer's machine",
    ),
    pytest.param(
        # "what are the actual steps to delete it?" names "delete"; a row that says "Until you
        # delete them" is no procedure, and the request before it ("I'd like to close my
        # account for good - we're moving abroad …") is its story, not what the steps must hold
        "I'd like to close my Kettleby account for good - we're moving abroad and the machine's "
        "going to my sister. I'd like to hang on to my saved recipes though, is there a way to "
        "keep a copy first? Then what are the actual steps to delete it? (I don't pay for "
        "anything, just the free app)",
        (),
        ["Type DELETE in capital letters", "**Download your data**"],
        ["| Recipes, schedules and machine settings |"],
        id="sa-806 the steps to delete, not a row that says delete",
    ),
    pytest.param(
        # "Is that the problem?" asks about the sentence before it (the dial on 9): its meaning
        # finds the grind; the list for codes that return ("**E1 or E6:** check that nothing (a
        # coffee bean …) is stuck") names beans but no code the message names, and had led
        "My espressos have started pouring really fast and they taste sour and thin. Just "
        "noticed my little one has been playing with the dial on top of the bean thing and it's "
        "on 9 now. Is that the problem? Can I just turn it back now while it's sitting there?",
        (),
        [
            "Only turn the dial while the grinder is running",
            "Water rushes through coarse grounds before the flavour has developed",
            "turn the grind dial one step finer",
        ],
        ["**E1 or E6:**"],
        id="sa-853 what 'that' is, by meaning; no list for codes not named",
    ),
    pytest.param(
        # "The display has started flickering … Is that covered, and …": the flicker is asked
        # about; what happens once the cover runs out is the section after it
        "We run a small café and our Brew is on the Kettleby Business plan. It's 10 months old "
        "and has done roughly 21,000 cups. The display has started flickering and half the icons "
        "don't light up any more. Is that covered, and what's the cover on a machine like ours "
        "- someone told me 2 years? And what happens once it runs out?",
        (),
        ["1 year or 30,000 cups", "We still repair machines after the warranty ends"],
        [],
        id="sa-699 what 'that' is, by meaning: outside the warranty too",
    ),
    pytest.param(
        # the list for codes that return lists E1, E5, E6, E7: none of them is E9
        "E9 on the screen, ring light red. I've turned it off and on twice and it's still there. "
        "what now? and where would I even find the serial number if you need it",
        (),
        ["sticker under the drip tray"],
        ["**E1 or E6:**"],
        id="sa-237 no list item for codes the message does not name",
    ),
    pytest.param(
        # "one Brew in the kitchen" names no row of the plans table ("Brew schedules | 2 | 10"):
        # the product's name is in most articles; the FAQ on sharing a machine answers
        "There are four of us in a shared house and one Brew in the kitchen. Can all of us use "
        "the app with it, or does everyone have to use my login? Do we need to pay for Plus for "
        "that?",
        (),
        ["**Share > Invite**", "share one machine with up to 6 people on any plan"],
        ["| Brew schedules |"],
        id="sa-857 the product's name names no row",
    ),
    pytest.param(
        # the second question asks no steps: the section that says so ("works fine without a
        # filter"), which holds more of it than the filter's steps, answers it
        "Those AquaPure filters aren't cheap. Can I pop one of my Brita jug cartridges in the "
        "tank instead? Or failing that, can I just run the machine without any filter at all?",
        (),
        ["Filters from other brands don't fit", "The Brew works fine without a filter."],
        [],
        id="sa-859 a yes-no question of several answered by prose, not steps",
    ),
    pytest.param(
        # the symptom names the cause ("blinks white slowly"), whose fix the customer did
        # ("pulled the plug for 30 seconds … made no difference"): what to do when still offline
        "The app's had my Brew as Offline since Tuesday. The light on the front is blinking "
        "white, slowly. I've pulled the plug for 30 seconds twice now and it's made no "
        "difference. Haven't changed the router or the wifi password, and everything else in the "
        "house is online fine.",
        (),
        ["its ring light blinks white slowly", "Restart your router", "a factory reset and fresh"],
        [],
        id="sa-855 the named cause's fix tried: the last resort follows",
    ),
    pytest.param(
        # "did the … priming thing, didn't help": the priming steps are not given again
        "Getting E4 all week and only a dribble comes out. Tank's full and I did the "
        "hold-the-hot-water-button priming thing, didn't help. Confession: the filter in there "
        "is probably 5 or 6 months old, I keep forgetting to change it...",
        (),
        ["Take the filter out of the tank"],
        ["Hold the Hot water button for 5 seconds to prime the pump."],
        id="sa-374 'didn't help' says it was tried",
    ),
    pytest.param(
        # the row quoted ("Machine diagnostics (error logs and cup counter) | 24 months"); what
        # else happens to that data is the section that names it ("We combine machine
        # diagnostics into anonymous statistics … may be kept indefinitely")
        "Bit of a privacy question. I gather the Brew sends error logs and a cup count back to "
        "you. How long do you keep that stuff? And do you use it for anything else once you've "
        "got it?",
        (),
        ["24 months from when they were recorded", "These statistics can't be linked back to you"],
        [],
        id="sa-846 a quoted row's thing, named by another section",
    ),
    pytest.param(
        # "I don't have the app": not the procedure whose step is "In the app, open …"; the
        # sentence on the machine's buttons answers
        "Tested our water with the strip, 3 red squares. I don't have the app on my phone though "
        "- can I tell the machine some other way?",
        (),
        ["hold the Hot water button for 10 seconds, then press it once per red square"],
        ["1. Fill a glass with cold tap water."],
        id="sa-105 no procedure that needs what the customer doesn't have",
    ),
    pytest.param(
        # "Is that possible?" is asked of the sentence before it ("send all of it straight over
        # to another coffee app"): its words pick the next unit when the best is quoted already
        "Got the ZIP, thanks. What kind of files are in there - can I open my brew history in "
        "Excel? And ideally I'd like you to just send all of it straight over to another coffee "
        "app I'm trying out. Is that possible?",
        (
            ("customer", "How can I download a copy of all the data you have on me?"),
            (
                "agent",
                "Sign in at my.kettleby.com, go to Account > Privacy > Download my data, tick the "
                "data you want (or leave everything ticked) and click Request export. We'll email "
                "you when it's ready, usually within a few minutes; click the link in the email "
                "and download the ZIP file.",
            ),
        ),
        ["open in Excel", "send your data directly to another company"],
        [],
        id="sa-863 'is that possible?' asks of the sentence before it",
    ),
    pytest.param(
        # a Visa and an Amex are cards: the card's procedure, not the cancellation's
        "Our Business plan gets paid on my.kettleby.com with my own Visa, which was only ever "
        "meant to be temporary. Finance have finally given me a company Amex. How do I get the "
        "subscription moved across to the Amex - and will the Visa stay saved on there?",
        (),
        ["Billing > Payment method", "Your old card is removed automatically"],
        ["Cancel plan"],
        id="sa-841 card brands name the card",
    ),
    pytest.param(
        # a plan that renews is no free trial: "Cancelling during a free trial ends the trial
        # straight away" (which names "straight away") is for someone else
        "Thinking of ditching Plus, money's a bit tight this month. It renews on the 20th and I "
        "pay through the website. If I cancel today do I lose it all straight away? I've got "
        "something like 80 recipes saved and I really don't want them binned.",
        (),
        ["You keep all Plus or Business features until the end of the period"],
        ["Cancelling during a free trial"],
        id="sa-816 no note for a state the customer is not in",
    ),
    pytest.param(
        # the list's note is for a trial; this customer has paid for Plus a while
        "My son signed us up to Plus on the website a while back, on the family laptop, and "
        "honestly we never use any of it. I want to stop it before it takes another payment. "
        "Where's the cancel option and what do I click? And do we lose the extras the second I "
        "cancel?",
        (),
        ["Click Cancel plan", "until the end of the period you've already paid for"],
        ["Cancelling during a free trial"],
        id="sa-840 a list's note for a trial, not quoted for a paid plan",
    ),
    pytest.param(
        # … and for a customer on the trial, the note is theirs
        "We started the Business free trial on my.kettleby.com for our design studio last week, "
        "but honestly it's overkill for two machines. How do I cancel it on the website? And "
        "will we still get charged when the trial would have ended?",
        (),
        ["Click Cancel plan", "Cancelling during a free trial ends the trial straight away"],
        [],
        id="sa-645 the trial's note for a customer on the trial",
    ),
    pytest.param(
        # "where is it hiding" after every menu of the app: how to find it, the steps
        "hiya, trying to get a copy of everything you hold on me (brew history and that) but ive "
        "been through every menu in the app and theres no option for it?? where is it hiding",
        (),
        ["Account > Privacy > Download my data", "download the ZIP file"],
        [],
        id="sa-807 'where is it hiding' asks for the steps",
    ),
    pytest.param(
        # "swapping our router" meets "If you change your router"; the steps it refers to are
        # the ones the agent just gave (Samsung), not the iPhone's
        "Brilliant, that worked. One thing though - Virgin are swapping our router for a new one "
        "next week. Will the Brew just hop onto the new one by itself or am I doing all that "
        "again?",
        (
            ("customer", "How do I get the Brew on our wifi? I've got a Samsung."),
            (
                "agent",
                "Hold the Power button for 3 seconds until the ring light flashes blue, turn on "
                "Location, open the Kettleby app and tap + Add machine, allow the Nearby devices "
                "permission, choose your 2.4 GHz network and enter its password, tap Stay "
                "connected if warned, then wait for the ring light to turn solid white, name "
                "your machine and tap Done.",
            ),
        ),
        ["the machine can't reconnect on its own", "add it again using the steps above"],
        ["**On iPhone**"],
        id="sa-830 a condition met in a synonym; the steps the thread gave",
    ),
    pytest.param(
        # the third question's best unit by its own words (*Complaints*) is not the reply's
        # first, which those words rank far lower: it joins, though the message's meaning is
        # closer to the first
        "Hallo, I live in Utrecht and use both the Kettleby app and your shop. Since you're a "
        "British company and the UK isn't in the EU any more, who is actually legally "
        "responsible for my personal data, and am I still protected by the EU GDPR? And if I "
        "ever had a problem with how my data was handled, could I go straight to the Dutch data "
        "protection authority instead of the UK one?",
        (),
        ["please tell us first so we can try to put it right", "the data protection authority"],
        [],
        id="sa-881 a question the first unit's words do not answer",
    ),
    pytest.param(
        # "Nobody's touched the grind": not the overview that names the grind first, nor the
        # grind's cause; the cleaning the message asks about, and how often
        "Our office Brew does about 30 coffees a day and over the last couple of months "
        "everything's slowly gone bitter, almost rancid. Nobody's touched the grind and it's "
        "the same medium roast we've always had. Someone reckons it just needs a proper clean - "
        "is that likely, and what exactly should we be doing, and how often?",
        (),
        ["take out the brew unit and rinse it", "Do this once a week"],
        ["turn the grind dial one step coarser"],
        id="sa-886 a part nobody touched is not the cause",
    ),
    pytest.param(
        # "set it up in the app the day it arrived": "within 60 days of delivery", the extended
        # warranty, beside the claim's steps the message's words rank first
        "The display on our Brew has gone completely blank - it still hums when you switch it "
        "on but there's nothing on the screen. It was delivered two years and four months ago, "
        "so my husband says the warranty's gone and it's a bin job. I did set it up in the app "
        "the day it arrived though, if that makes any difference? And would we have to take it "
        "somewhere or post it ourselves?",
        (),
        ["your warranty is extended to 3 years", "Warranty claim"],
        [],
        id="sa-882 'the day it arrived' names the delivery",
    ),
    pytest.param(
        # "what does the American version run on?": the reply says "Only where the mains
        # voltage matches your model", so the row of that key, whose value names the UK (sent
        # without it: incomplete)
        "My sister's over from Seattle for a few weeks and has completely fallen for our Brew. "
        "She wants to buy one from you and take it home in her suitcase. Would a UK one work in "
        "the States if she gets one of those travel converters? If not, what does the American "
        "version run on compared with ours?",
        (),
        [
            "even with a travel converter",
            "| Mains voltage | 220 to 240 V (UK and EU models), 120 V",
        ],
        ["United States and Canada"],
        id="sa-875 the row whose key the reply names",
    ),
    pytest.param(
        # the weight's row and "Only where the mains voltage matches your model": the mains
        # voltage's row too, beside the weight's in one table
        "We're moving from Bristol to Lisbon in September and want to take the Brew with us. "
        "Will our UK machine actually work in Portugal? Also how heavy is it - I'm working out "
        "what goes in the car and what goes with the removal firm.",
        (),
        ["| Weight | 8.2 kg |", "| Mains voltage | 220 to 240 V (UK and EU models)"],
        [],
        id="sa-658 the row whose key the reply names, of a table the reply quotes",
    ),
    pytest.param(
        # "UK mainland" is the key of two rows: the one the reply quotes does not name the other
        "Got £32 of beans and filters in my basket, going to Leeds, normal post. What's the "
        "delivery charge, and how much would I need to spend to get it free? Also roughly how "
        "long does standard take?",
        (),
        ["| UK mainland | Standard (Royal Mail Tracked 48) |"],
        ["Express (DPD)"],
        id="sa-364 a key the reply's own row writes out names no other row",
    ),
    pytest.param(
        # the mains voltage's row, and the sentence that names it: "A UK machine works in the EU
        # with a plug adapter"
        "We're moving from Bristol to Lisbon next year for my husband's job. Can we bring our "
        "Brew with us, or is it going to go bang on Portuguese electrics?",
        (),
        ["| Mains voltage |", "A UK machine works in the EU with a plug adapter"],
        [],
        id="sa-782 the sentence that names the reply's row",
    ),
    pytest.param(
        "Restored my phone from a backup last night and now the Kettleby app wants me to sign in "
        "again. My password manager doesn't have it, so I must have typed it in by hand years ago "
        "and it's long gone. I definitely made the account with my Yahoo address, not with "
        "Google or Apple. What's the process to get back in?",
        (),
        ["Forgot password?", "choose a new password with at least 10 characters"],
        ["Enter your current password"],  # "while signed in": not for someone signed out
        id="sa-904 signed out",
    ),
    pytest.param(
        "Our office cleaner has (very politely) complained that the steam arm on our Brew is "
        "crusted with old milk every morning and she's not going to chisel it off any more. Fair "
        "enough! Before I send a grumpy all-staff email, what exactly should people be doing "
        "with it each time they've frothed milk? I want to get it right and keep it short.",
        (),
        ["Wipe the wand with a damp cloth straight after frothing", "open the steam for 2"],
        ["Cold milk straight from the fridge"],  # "what should people be doing": the steps
        id="sa-905 what should people be doing",
    ),
    pytest.param(
        "Two different codes on our Brew this week. On Monday it said E3 even though the hopper "
        "was more than half full (it's a very oily dark roast, if that matters). Today it's E5 - "
        "the drawer wasn't even full, but I emptied it anyway, shoved it straight back in, and "
        "the code is still showing. What are these telling me and how do I clear them?",
        (),
        [
            "Bean hopper empty or beans stuck",  # "emptied it anyway" rules out no code's row
            "wait 10 seconds before refitting it",
            "press the Brew button once to clear the code",
        ],
        [],
        id="sa-910 two codes named",
    ),
    pytest.param(
        "My old flatmate used the Kettleby app on his phone logged in as me (long story - it was "
        "my account, we shared the machine). He's moved out now and I want to change my password "
        "and make sure he's kicked off. I'm signed in on my phone and I know my current password.",
        (),
        ["Sign out of all other devices"],
        ["I didn't get the reset email"],  # "make sure" is not "Make sure you typed the email"
        id="sa-700 not sure",
    ),
    pytest.param(
        "Bit annoyed with myself. I took out Plus on my Pixel back in the spring, then stopped "
        "bothering with the schedules, so last month I deleted the Kettleby app to get rid of it. "
        "I've just spotted another £3.99 going to Google for Kettleby on my statement. Why am I "
        "still paying, and how do I stop it for good? I'd rather not reinstall your app just to "
        "do that.",
        (),
        ["Deleting the app from your phone does **not** cancel", "Open the Google Play Store"],
        [],
        id="sa-902 the belief corrected",
    ),
    pytest.param(
        "How do I cancel Plus?? I signed up through the app on my iPhone and there's no cancel "
        "button anywhere in the Kettleby app",
        (),
        ["Tap Kettleby Plus"],
        ["Deleting the app"],  # nobody said they deleted it
        id="sa-010 no belief to correct",
    ),
    pytest.param(
        "Right, slight disaster. About ten minutes into the first part, my husband saw it "
        "gurgling away, assumed it had finished and switched it off at the wall. It's back on "
        "now, the tank still has the descaler water in it and the orange drop is still showing. "
        "Do I have to go right back to the beginning? What do I press now?",
        (
            ("customer", "We don't use the app. How do I descale the Brew with just the buttons?"),
            (
                "agent",
                "Take the water filter out of the tank and set it aside, pour one sachet of "
                "descaler into the tank and fill it with water up to the MAX line. Press and hold "
                "the Steam and Hot water buttons together for 5 seconds, until the ring light "
                "pulses orange, put a container that holds at least 1.5 litres under the coffee "
                "spout and press the Brew button to start the cycle. After about 20 minutes the "
                "ring light turns solid orange: empty the container, rinse the tank and fill it "
                "with fresh water, then press the Brew button again to run the rinse cycle. Put "
                "the water filter back in once the ring light turns white.",
            ),
        ),
        [
            "start again from step 3",
            "Press and hold the Steam and Hot water buttons together",  # the steps it names
            "The descale reminder only clears once the rinse cycle has finished",
        ],
        ["tap **Start descaling**"],  # not the app's procedure
        id="sa-924 start again from step 3",
    ),
    pytest.param(
        "I'm leaving my job next week. My manager added me to the company's Kettleby Business "
        "team, but it's the same account I use for my own Brew at home. How do I come off the "
        "company one without losing my own recipes and stuff?",
        (),
        ["ask an admin to remove you from the team"],
        ["Delete my account"],  # what the answer says not to do
        id="sa-209 without deleting",
    ),
    pytest.param(
        "I've already cancelled my Plus in the App Store and it runs out tomorrow, so that bit's "
        "done. Now I'd like my Kettleby account deleted altogether - the Brew's going to the "
        "charity shop on the high street. How do I actually delete it in the app, and will "
        "whoever buys the machine from the charity shop be able to set it up on their own "
        "account?",
        (),
        ["Any machine on your account is removed, so someone else can add it", "Type DELETE"],
        ["Cancel any paid subscription first"],  # done already, says the message
        id="sa-874 the prerequisite asked about",
    ),
    pytest.param(
        "My toddler managed to tip some of his milk into the Brew's water tank while I wasn't "
        "looking (!). I've washed the tank out properly and refilled it, but now it shows E4, "
        "the ring is red and the pump just buzzes without much water coming through. Have I "
        "wrecked it?",
        (),
        [
            "The small valve in the base of the tank can stick if coffee or milk residue",
            "Press the valve a few times",
        ],
        [],
        id="sa-918 the symptom's causes",
    ),
    pytest.param(
        "E4 again. I've done literally everything on your E4 page - primed it with the hot water "
        "button, took the filter out, descaled, cleaned the little valve in the tank. Still E4. "
        "I'm handy with a screwdriver, should I open it up and have a look at the pump?",
        (),
        ["Don't open the casing yourself"],
        ["Take the filter out of the tank"],  # done, every one of them
        id="sa-280 no causes after everything was tried",
    ),
    pytest.param(
        "Treated myself to a bag of light Ethiopian from the little roaster round the corner - "
        "roasted on Tuesday, picked up Wednesday, so super fresh. Every cup since has been sharp "
        "and sour, like lemon juice, and quite thin. My usual supermarket dark roast tastes fine "
        "on exactly the same settings. Is it the beans or the machine?",
        (),
        ["Beans roasted less than 7 days ago", "Light roasts need hotter water", "High (96 °C)"],
        ["Dark roasts turn bitter"],  # sour, not bitter: not those causes
        id="sa-917 which cause",
    ),
    pytest.param(
        "Money's tight so I'm going to drop Plus and go back to the free plan. Problem is I've got "
        "something like 300 recipes saved. What's the free limit, and will I lose the ones over "
        "it?",
        (),
        ["| Recipes saved | 20 | 500 | Unlimited |"],
        ["| Free trial |"],  # "the free plan" names the Free column, not the trial's row
        id="sa-275 a column named",
    ),
    pytest.param(
        "I've started making oat lattes for my partner every morning before work, and by the "
        "evening the steam wand has a crusty ring of dried oat milk on it that I end up picking "
        "off with a fingernail. I'm going to do the weekly soak on Sundays, but what should I be "
        "doing after each latte so it doesn't build up? And can the steel jug just go in the "
        "dishwasher with the breakfast things?",
        (),
        [  # "after each latte": the procedure *After every use*, not only the weekly soak
            "Wipe the wand with a damp cloth straight after frothing",
            "Wipe the wand again and swing it back to its resting position",
            "The stainless steel milk jug that comes with the Brew can go in the dishwasher.",
        ],
        [],
        id="sa-934 after each one: after every use",
    ),
    pytest.param(
        "Our office Brew is in constant use (lattes and cappuccinos mostly) and by about "
        "lunchtime there's water dribbling out along the front onto the worktop. There's a "
        "little red plastic thing poking up through the grille at the front - is that some kind "
        "of warning? One of my colleagues wants to unscrew the back panel to look for the leak - "
        "should he?",
        (),
        [
            "The drip tray has a red float that pops up through the grille",
            "Never try to open the casing",  # "unscrew the back panel"
        ],
        [],
        id="sa-950 unscrewing a panel is opening the casing",
    ),
    pytest.param(
        "Setting up the Brew on my iPhone and getting nowhere. When I opened the app it threw a "
        "load of pop-ups at me and I'm fairly sure I tapped Don't Allow on one of them. I also "
        "have a VPN running all the time for streaming. Now the app just says No machine found, "
        "and the light on the machine was flashing blue when I started but it's stopped now - "
        "I've been at this a good ten minutes. What do I need to do?",
        (),
        [  # three causes the message describes, the light that stopped flashing among them
            "Local Network",
            "Pairing mode switches off after 5 minutes.",
            "hold the Power button for 3 seconds again and retry straight away",
            "pause the VPN or ad blocker",
        ],
        [],
        id="sa-951 a cause described by its own words, whatever the budget",
    ),
    pytest.param(
        "Trying to set the Brew up from my iPhone while I'm out in the garden office - the "
        "machine's in the kitchen, maybe 15 metres away through two walls. The blue light is "
        "flashing. I also think I said no to a popup about finding devices on my network. The "
        "app just says No machine found.",
        (),
        ["stand within 2 metres of the machine", "Privacy & Security > Local Network"],
        # the light is flashing: the machine is in pairing mode
        ["Pairing mode switches off"],
        id="sa-664 a state the message says holds rules its cause out",
    ),
    pytest.param(
        "Having a bit of a digital tidy-up. I've just unsubscribed from your marketing emails, "
        "and I'm about to delete most of the recipes I've saved in the app over the years. Do "
        "you keep my email address now I've unsubscribed? And once I delete the recipes, are "
        "they actually gone at your end, or do they hang around in backups somewhere?",
        (),
        [  # "in backups somewhere?" names the section *Backups*, which no retrieved chunk holds
            "we keep only your email address on a do-not-contact list",
            "Until you delete them or delete your account",
            "Deleted data can remain in our encrypted backups for a short time.",
        ],
        [],
        id="sa-943 a one-word heading a question names",
    ),
    pytest.param(
        "Last week I ordered two bags of the Colombian beans, a box of descaler and a spare milk "
        "jug from your website. Since then I've been given a huge hamper of coffee bits as a "
        "leaving present, so I'd like to send the whole lot back - none of it has been opened. "
        "I'm in Leeds. Do I have to pay to post it back, do I get the £3.95 delivery back as "
        "well, and how long does the refund take once it reaches you?",
        (),
        [
            "the original shipping cost if you return the whole order",
            "Return shipping is **free for UK customers**",
        ],
        ["| UK mainland |"],  # "the £3.95 delivery" was paid: not the shipping rates asked
        id="sa-944 refunds: the section the question names",
    ),
    pytest.param(
        "We run a small B&B and I'm thinking of putting a Brew on the sideboard in the guest "
        "lounge so guests can help themselves. The shelf I had in mind is only 40 cm deep - how "
        "big is the machine? Guests will be making coffees all through breakfast, so how many "
        "can it do before someone has to empty the grounds drawer? I'd like it to stay on for "
        "the whole breakfast (7 till 9) without going to sleep - does it switch itself off, and "
        "can I change that? Oh, and does it come with a milk jug?",
        (),
        [
            "24 x 43 x 36 cm",
            "12 used coffee pucks",
            # "does it switch itself off?": the section that says so, not a row of the retrieved
            # table that holds none of its words
            "switches itself off after 30 minutes without use",
        ],
        [],
        id="sa-942 a question's words over a retrieved table's bonus",
    ),
    pytest.param(
        "We run a small guest house in Whitby with five rooms and we're putting a Brew in every "
        "room. I assumed Plus would do, but my husband says it's the wrong plan for a set-up like "
        "ours. Which of us is right? What would the right plan cost us each month, and can we "
        "try it out before we start paying?",
        (),
        ["| Free trial | Not applicable | 14 days | 30 days |", "won't be charged until the trial"],
        ["| Brew history |"],  # "can we try it out before …": the trial, not rows nobody asked
        id="sa-876 trying it out first is a free trial",
    ),
    pytest.param(
        "Two things. Why on earth does it need my location? I keep that switched off on "
        "principle - I don't want an app knowing where I live. And I've just got to the network "
        "bit, typed in the password, and now my phone's popped up a message saying the network "
        "has no internet access. Have I done something wrong?",
        (
            ("customer", "How do I connect the Brew to wifi? I've got a Samsung."),
            (
                "agent",
                "Press and hold the Power button for 3 seconds until the ring light flashes blue. "
                "Turn on Location in your phone's quick settings, open the Kettleby app and tap + "
                "Add machine, and tap Allow when the app asks for the Nearby devices permission. "
                "Choose your 2.4 GHz network from the list and enter its password. Then wait for "
                "the ring light to turn solid white, name your machine and tap Done.",
            ),
        ),
        [  # the two steps of the procedure the thread gave that the follow-up is about
            "**On Android** [1] Step 2: Turn on Location in your phone's quick settings. Android "
            "needs Location to scan for Bluetooth devices",
            "Step 6: If your phone warns that the network has no internet access, tap **Stay "
            "connected**.",
        ],
        ["Step 5:"],  # "typed in the password": done
        id="sa-957 a follow-up about steps the thread gave: those steps",
    ),
    pytest.param(
        "Picked the network and typed the password in, but the ring light still hasn't gone "
        "white and it's been about a minute. How long is it meant to take? Also I typed the "
        "password all in lower case, does that matter?",
        (
            ("customer", "just got my Brew, how do I get it onto the wifi? I've got an iphone 15"),
            (
                "agent",
                "Hold the Power button for 3 seconds until the ring light flashes blue, open the "
                "Kettleby app and tap + Add machine, tap Allow when iOS asks for Local Network "
                "access, then choose your 2.4 GHz network and enter its password. Wait for the "
                "ring light to turn solid white, then name the machine and tap Done.",
            ),
        ),
        ["Step 5: Wait for the ring light to turn solid white. This can take up to 90 seconds."],
        ["**On Android**"],  # in the middle of the iPhone's steps: not the other phone's
        id="sa-351 the step the customer is at, not the other platform's steps",
    ),
    pytest.param(
        "Done, it's on. Am I going to have to type a code in every morning before I can start "
        "my coffee from the app? And I've put the backup codes in my password manager - can I "
        "just keep using one of those if my phone's not to hand?",
        (
            (
                "customer",
                "How do I turn on two-step verification? Someone tried to log into my account "
                "last week and it's spooked me.",
            ),
            (
                "agent",
                "In the Kettleby app go to Settings > Account > Security, tap Two-step "
                "verification and enter your password. Scan the QR code with your authenticator "
                "app, enter the 6-digit code it shows and tap Verify, then save your 10 backup "
                "codes somewhere safe and tap Done.",
            ),
        ),
        ["Backup codes let you sign in"],
        ["Step 5:"],  # a step the customer says they did is not what they ask about
        id="sa-348 a step done is not quoted",
    ),
    pytest.param(
        "We keep a Brew in our static caravan on the coast. The site switched its wifi off at "
        "the end of the season, so the app just shows the machine as Offline, and over the "
        "summer the grandkids changed all the cup sizes and renamed it 'Bean Machine 3000'. I'm "
        "up there this weekend and I'd like to wipe it back to how it came out of the box. Can I "
        "do that on the machine itself? Which buttons do I press, and is there anything I need "
        "to do in the app afterwards?",
        (),
        [
            "**Reset on the machine**",
            "Press and hold the Brew and Steam buttons together.",
            "swipe left on the old machine on the Home screen and tap **Remove**",
        ],
        # the first article's procedure, tied on bonuses, holding a quarter of the message's
        # words: "Choose the drink and the cup size."
        ["**Create a schedule**"],
        id="sa-933 the procedure holding the message's words, not the first article's",
    ),
    pytest.param(
        "Thanks. Honestly, at the price of these things I'm tempted either to leave each one in "
        "for twice as long as the app says, or to stop using them altogether. What actually "
        "happens if I do either? And if I ditch them, do I need to tell the machine somehow so "
        "it stops nagging me?",
        (
            ("customer", "How do I change the water filter on the Brew?"),
            (
                "agent",
                "Soak the new AquaPure filter in cold water for 5 minutes, lift the water tank "
                "off the machine and empty it, twist the old filter anticlockwise and pull it "
                "out, then push the new one into the socket and twist it clockwise until it "
                "clicks. Turn the date dial on top of the filter to the current month, refill the "
                "tank and run two cups of hot water to flush it, and finally tap Settings > "
                "Maintenance > Filter replaced in the app.",
            ),
        ),
        [  # "if I do either?": each of the two things, the filter left in longer among them
            "The Brew works fine without a filter.",
            "once the resin is used up the filter stops reducing limescale",
        ],
        [],
        id="sa-959 what happens if I do either: each side answered",
    ),
    pytest.param(
        "I'm doing a university project on how much data companies collect, using my own "
        "accounts as the case study. I'd like to send Kettleby a subject access request now and "
        "then another one every month until June to see what changes. Will you charge me for "
        "these? And how long do you have to reply to each one?",
        (),
        ["we reply within one month of receiving your request", "requests are free"],
        # how often an export may be asked for says nothing of how long a reply takes
        ["You can request one export every 24 hours."],
        id="sa-947 how long: a time it takes, not how often",
    ),
    pytest.param(
        "Selling my Brew on marketplace this weekend as we've been given a bean-to-cup with the "
        "new kitchen. It's still online and showing as connected in my app. What's the proper "
        "way to wipe it so the buyer can set it up as theirs? I've got about 40 recipes saved "
        "that I'd like to keep for the new machine - will wiping the Brew delete them?",
        (),
        ["Settings > Machine > Factory reset", "does **not** erase the recipes"],
        # the case the message tells is the one the app's procedure is for ("Use this when the
        # machine is online and shows as connected in the app")
        ["Press and hold the Brew and Steam buttons together."],
        id="sa-966 the procedure for the case the message tells",
    ),
    pytest.param(
        "the milk on my flat whites has gone all thin and big-bubbly over the last fortnight "
        "instead of the nice silky stuff. I wipe the wand after every use so I reckon the little "
        "hole in the tip is gunked up. how do I do a proper deep clean of it? never taken the "
        "tip off before",
        (),
        ["Unscrew the frothing tip by turning it anticlockwise."],
        # the story writes out one procedure's heading, the question names the other's
        ["Wipe the wand with a damp cloth straight after frothing"],
        id="sa-967 the procedure the question names, not the one the story writes",
    ),
    pytest.param(
        "Money's a bit tight this year so I want to come off yearly Plus and just pay month by "
        "month instead. I pay on my.kettleby.com and it renewed in September. If I switch now, "
        "when does the monthly start - do I get some of the year back? And where on the site do "
        "I actually do it?",
        (),
        # "where on the site do I do it?" asks for the steps
        ["This takes effect when your current year ends.", "Go to **Billing > Subscription**"],
        [],
        id="sa-978 where on the site: the steps",
    ),
    pytest.param(
        "I'm closing down a few online accounts and want to know what you'd still hold on me. "
        "Over the years I've had loads of back-and-forth with your support team about my machine "
        "- how long do those chats stick around? And what about the orders I've placed in your "
        "shop? Separate thing: the brew history in my app only goes back about a month, where's "
        "the rest gone? (free plan)",
        (),
        # two questions answered by an article the first answer is not from
        ["3 years after the conversation is closed", "7 years after the end of the financial"],
        [],
        id="sa-974 an article that answers two of the questions",
    ),
    pytest.param(
        "We're kitting out our new office in Toronto and I want to order 6 Brews plus beans, "
        "filters and descaler from your site - all in it'll come to about £2,100. A few "
        "questions before I press the button: how long does delivery to Canada take, will "
        "someone have to sign for it, and are we going to get stung for import duty when it "
        "turns up?",
        (),
        # a list of questions, the second opening "will someone …"
        ["5 to 8 working days", "Orders worth more than £1,000 are sent with a signature"],
        [],
        id="sa-975 a listed question opening with 'will'",
    ),
    pytest.param(
        "I was in the middle of descaling - first time in absolutely ages, the orange drop has "
        "been on for months if I'm honest - and about halfway through it stopped with E4 and the "
        "pump's just buzzing. Should I abandon it and start over? What if it still won't go?",
        (),
        # "what if it still won't go?" asks what to do when no fix works
        ["let the machine rest for 15 minutes", "stop using the machine and contact support"],
        [],
        id="sa-982 what if it still won't go: the last resort",
    ),
    pytest.param(
        "I signed up with my Google account when I got the Brew and never made a separate "
        "password. I'm only on the free plan, and I'm giving the machine to my sister, so I'd "
        "like to get rid of my Kettleby account completely. What are the steps?",
        (),
        # "so I'd like to …" asks (written "I'd", with no space before "'d")
        ["Settings > Account > Delete account"],
        ["Settings > Account > Password"],
        id="sa-689 so I'd like to: a request",
    ),
    pytest.param(
        "I pay for Plus through the App Store on my iPhone and I'd like to stop it, the free "
        "version is plenty for me these days. How do I cancel? I've saved about 80 recipes over "
        "the last couple of years - what happens to them once I'm back on Free?",
        (),
        ["Open the Settings app on your iPhone or iPad"],
        # "How do I cancel?" alone does not bring in the article's other procedure
        ["Open the Google Play Store app."],
        id="sa-553 no rival procedure for a question read alone",
    ),
    pytest.param(
        "Two card changes to sort and I'm not sure where to do either. My personal Plus I took "
        "out in the app on my iPhone - my bank's sent me a new debit card. And I look after our "
        "office Business account, which we signed up for on my.kettleby.com, and accounts have "
        "given me a new company credit card for it. Where do I change the card for each?",
        (),
        # the article's opening says what to do for the channel its steps are not for
        ["Go to **Billing > Payment method**", "in your Apple ID or Google Play settings instead"],
        [],
        id="sa-969 the rule for the other channel the message names",
    ),
    pytest.param(
        "Done, cancelled - thanks. Annoyingly I only went for the yearly one 5 days ago (I meant "
        "to pick monthly) so that's £39.99 gone. Your website says you refund yearly plans within "
        "14 days - can you just put it back on my card?",
        (
            ("customer", "How do I cancel my Kettleby Plus? I signed up on my iPhone."),
            (
                "agent",
                "As you subscribed on your iPhone, Apple bills you, so you cancel in the iPhone "
                "Settings app rather than in the Kettleby app: open Settings, tap your name at the "
                "top, then tap Subscriptions, tap Kettleby Plus, then tap Cancel Subscription and "
                "Confirm.",
            ),
        ),
        # the channel the thread told (an iPhone: Apple) has a rule of its own
        ["only they can issue a refund"],
        [],
        id="sa-990 the thread's channel",
    ),
    pytest.param(
        "I'm in Leeds. Ordered 2 bags of beans and a milk jug from your website and paid £3.95 "
        "delivery. I want to send back just the jug (still boxed, not used) and keep the beans. "
        "Do I get the £3.95 back as well? And how will I know you've got it?",
        (),
        # the policy's rule for where the customer is (a UK city: the UK)
        ["Return shipping is **free for UK customers**"],
        [],
        id="sa-436 the rule for the place the customer is in",
    ),
    pytest.param(
        "I'm setting up a Brew for our staff kitchen using the work Android phone (a Samsung "
        "A54). Our IT team keep Location switched off on company phones by policy, so before I "
        "go begging them - does the app genuinely need it? And can you give me the setup steps "
        "from the beginning so I get it right first time?",
        (),
        # Location "kept switched off" is a state, not a request to switch it off: the Android
        # steps (which turn it on) answer; "the setup steps" are not the case "add it again
        # using the steps above"
        ["**On Android**", "Android needs Location to scan for Bluetooth devices"],
        ["Changing to a new Wi-Fi network", "the phone is too far away"],
        id="sa-998 a setting kept off is not a switch asked",
    ),
    pytest.param(
        "I swim before work on Mondays, Wednesdays and Fridays and I'd love a flat white sat "
        "waiting when I get back at 7:20 - but not on the other days, when I have a lie-in. I "
        "like it piping hot. How do I set that up in the app, and is there anything I need to "
        "remember to do the night before?",
        (),
        # a drink waiting at a time, on some days of the week: a schedule
        ["Tap + New schedule.", "pick the days it should repeat"],
        ["descaler"],
        id="sa-999 a drink waiting at 7:20 on Mondays is a schedule",
    ),
    pytest.param(
        "Our café has three Brews on Business and we've been paying monthly through "
        "my.kettleby.com since we opened. Our accountant says we should move to annual billing "
        "and keep Business as it is. Can you tell me where to do that on the website? She'll want "
        "to know the exact figure before I commit, and when the first yearly payment would "
        "actually go out.",
        (),
        # "where to do that on the website" asks for the steps
        ["Go to **Billing > Subscription** and click **Change plan**."],
        [],
        id="sa-1000 where to do it on the website",
    ),
    pytest.param(
        "My son set up the Kettleby app for me when I got my Brew, using my email address, but "
        "he made up the password and now he's in Australia and can't remember it. I'd like to "
        "get into the app on my own phone. He's still signed into my account on his phone over "
        "there (he likes to see if I'm drinking too much coffee!). How do I get in, and would it "
        "upset my morning schedule?",
        (),
        # a password nobody can remember is a forgotten one, not one changed while signed in
        ["tap **Forgot password?**", "Your machines, recipes and schedules aren't affected."],
        ["Enter your current password."],
        id="sa-1001 a password nobody remembers",
    ),
    pytest.param(
        "Adding our new Brew from my iPhone: light's flashing blue, phone's right next to it, but "
        "the app keeps saying No machine found. I'm sure I tapped Don't Allow on some pop-up when "
        "I first opened the app. Also, once it's working, my wife wants it on her phone too - "
        "does she go through this whole setup again on hers?",
        (),
        # the label the customer tapped, which the article quotes; a phone right next to the
        # machine is not "too far away"
        ['If you tapped "Don\'t Allow" by mistake', "Privacy & Security > Local Network"],
        ["the phone is too far away"],
        id="sa-1016 a quoted label tapped, and a phone next to the machine",
    ),
    pytest.param(
        "I run a small hair salon and offer clients a coffee while their colour develops - the "
        "Brew does about 15 a day. Lately people are leaving them half drunk: they taste bitter "
        "and they're not very hot. I'll be honest, I've never cleaned anything inside it, and "
        "the orange drop thing has been on for a couple of weeks. What should I tackle?",
        (),
        # the icon the message says is showing names a cause under another symptom's heading
        ["Clean brew unit", "If the orange drop icon is showing, descale the machine."],
        [],
        id="sa-1013 the icon showing names a cause",
    ),
    pytest.param(
        "coffee comes out really weak and watery whenever I pick the big mug size. the beans are "
        "a fresh bag opened on Monday and there's no orange drop on the display. what can i do?",
        (),
        # … not an icon the message says is not showing
        ["raise the strength setting"],
        ["If the orange drop icon is showing"],
        id="sa-216 no orange drop on the display",
    ),
    pytest.param(
        "Our office Brew does a rush of americanos (no milk) first thing, about 15 in an hour, "
        "and afterwards there's a small wet patch under it - roughly a spoonful, nothing more. "
        "The drip tray isn't full. A colleague says water under a machine means an internal leak "
        "and we should stop using it. How do we tell whether it's something serious?",
        (),
        # 15 in an hour: many drinks in a row; a drip tray that "isn't full" rules out that
        # cause; "how do we tell": how to work out where the water comes from
        ["up to about a tablespoon is normal", "dry the counter and the machine, make a drink"],
        ["Cause: the drip tray is full"],
        id="sa-1015 fifteen in an hour, and a drip tray that isn't full",
    ),
    pytest.param(
        "My partner had the bright idea of pouring leftover cold brew into the Brew's water tank "
        "instead of water, to 'make the coffee stronger'. I've rinsed the tank out but now we "
        "get E4 and the pump just buzzes. What should we check? And if it still won't go, what "
        "then?",
        (),
        # "instead of water" tells what was done: it rules out nothing the water's causes say
        ["can stick if coffee or milk residue gets on it", "Have your machine's serial number"],
        [],
        id="sa-1014 instead of water, told",
    ),
    pytest.param(
        "I'm switching to another coffee app and I'd like Kettleby to send my data straight to "
        "them rather than me downloading a zip and fiddling with it. How do I ask for that?",
        (),
        # … but a wish's "rather than" rules out what it would rather not
        ["privacy@kettleby.com"],
        ["Request your export"],
        id="sa-135 rather than, wished",
    ),
    pytest.param(
        "Decided the Brew isn't for us - we've gone back to the old stovetop pot. It came from "
        "your website on the 2nd and today's the 27th; it's been used but it's clean and we've "
        "got all the bits. Two snags: the box got flattened and recycled ages ago, and I'm away "
        "with work for most of next month. Can it still go back? If I start the return this "
        "weekend, how long have I got to actually post it, and does it have to be in the "
        "original box? We're in Stockport.",
        (),
        # the 2nd to the 27th: is it still within the limit; Stockport: a town of Great Britain;
        # a list quoted in part counts once against the reply's length (the steps still fit)
        ["within **30 days of delivery**", "free for UK customers", "ideally in the original box"],
        [],
        id="sa-1008 dates apart, a town, and the steps",
    ),
    pytest.param(
        "Right. I'm fairly sure I took Plus out inside the app on my Pixel, and the card it was "
        "on has been replaced with a new Monzo one. Can you just update the card at your end so "
        "the next attempt goes through?",
        (
            ("customer", "I've had an email saying my Plus payment didn't go through. What now?"),
            (
                "agent",
                "We'll try the payment again 3 times over 7 days, and you keep full access during "
                "this time.",
            ),
        ),
        # subscribed on a Pixel: Google Play bills it, and the article's opening has its rule
        ["change your payment method in your Apple ID or Google Play settings instead"],
        [],
        id="sa-1022 subscribed on a Pixel",
    ),
    pytest.param(
        "The Brew in our office gets used mostly for hot water for tea, plus a few double "
        "espressos for the coffee snobs. We took the filter out months ago. The test strip showed "
        "3 red squares. How many cups should we get between descales, and do the teas and doubles "
        "count? Is there somewhere in the app to keep an eye on it so it doesn't catch us out?",
        (),
        # "somewhere in the app to keep an eye on it": where to check, a menu; the table's other
        # rows are no candidates for it
        ["| Hard (15 to 21 °dH) |", "the number of cups left before the next descale"],
        ["| Soft (0 to 7 °dH) |"],
        id="sa-1004 somewhere in the app to keep an eye on it",
    ),
    pytest.param(
        "We're having a new kitchen fitted and I want the Brew hidden away on a pull-out shelf "
        "inside a tall larder unit. The fitter needs its width, depth and height, and wants to "
        "know if we need extra clearance above it. Also, because it'll be out of sight behind a "
        "door, I'm worried it'll get left on all day - does it switch itself off?",
        (),
        # width, depth and height: the dimensions (W x D x H); "Also, because it'll be …" is a
        # question of its own, not about the sentence before it
        ["| Dimensions (W x D x H) | 24 x 43 x 36 cm |", "switches itself off after 30 minutes"],
        [],
        id="sa-1005 width, depth and height; also, a question apart",
    ),
    pytest.param(
        "Great, I'll do that after every latte. Someone at work mentioned there's a weekly job as "
        "well - how does the tip come off, how long does it need soaking and where's this pin I "
        "keep hearing about? Also I've just switched to oat milk and it barely foams at all.",
        (
            ("customer", "How should I be cleaning the steam wand day to day?"),
            (
                "agent",
                "After every use: wipe the wand with a damp cloth straight after frothing, while "
                "the milk is still wet.",
            ),
        ),
        # a report after the question that opens "Also" is a matter of its own; oat milk is a
        # plant-based one
        ["Unscrew the frothing tip", 'choose a "barista" version'],
        [],
        id="sa-1023 also, oat milk",
    ),
    pytest.param(
        "Hola! I'm in Madrid. Last week I ordered three bags of beans and a 3-pack of filters "
        "from kettleby.com and paid £9.95 for delivery. Then it turns out my flatmate had already "
        "ordered exactly the same. Everything is still sealed. If I send the whole order back, "
        "who pays the return postage, do I get the £9.95 delivery back as well, and how long "
        "until the refund shows up?",
        (),
        ["Customers in the EU, the US and Canada pay for return shipping"],
        [],
        id="sa-884 the rule for an EU city",
    ),
    pytest.param(
        "I'm sick of having an app for everything and want to delete my Kettleby account. "
        "Couple of worries though: will the coffee machine still work afterwards if I just use "
        "the buttons? I pay for Plus through the App Store - does deleting the account stop "
        "that? And will I get anything to say it's been done?",
        (),
        # "anything to say it's been done": a confirmation email
        ["The machine keeps working with its buttons.", "You'll get a confirmation email"],
        [],
        id="sa-980 anything to say it's been done",
    ),
    pytest.param(
        "I'm office manager for a firm with 9 Brews on Kettleby Business and the directors want a "
        "full dump of everyone's usage for an audit, including the recipes staff have saved. I'm "
        "an admin on the account. Where do I get that, and will it actually include people's own "
        "recipes?",
        (),
        # a dump of data is an export
        ["Admin > Reports > Export", "not the personal recipes of team members"],
        [],
        id="sa-987 a dump is an export",
    ),
    pytest.param(
        "My Brew is about two and a half years old and the grinder has just packed in. I never "
        "put it in the app (I only use the buttons), so I'm guessing I never got the extra year. "
        "Am I completely out of luck? I thought consumer law gave me some rights on top of any "
        "warranty anyway?",
        (),
        # "out of luck?" asks what happens once the limit has passed
        ["We still repair machines after the warranty ends, for a fixed fee."],
        [],
        id="sa-433 out of luck: outside the warranty",
    ),
    pytest.param(
        "We emptied the Brew's water tank before going away for a fortnight so the water "
        "wouldn't go stale, and I'd put a brand-new AquaPure filter in the day before we left, "
        "straight out of the packet. Now we're back, I've filled the tank up again, and all I get "
        "is E4 and a buzzing pump with barely a dribble. Where do I start?",
        (),
        ["Take the filter out of the tank and make a drink without it."],
        # another article's procedure only for a message that asks how: not the descaling steps
        ["Pour one sachet of descaler into the tank"],
        id="sa-952 no other article's procedure for a message that does not ask how",
    ),
    pytest.param(
        "Great. Can I make it compulsory for all 18 of our staff, rather than hoping they "
        "bother? What happens to anyone who hasn't done it yet? And one of our older colleagues "
        "is asking if she could just have the codes sent to her by text instead of installing "
        "an app.",
        (
            (
                "customer",
                "I'm the admin on our office's Kettleby Business account. How does two-step "
                "verification work on your app?",
            ),
            (
                "agent",
                "Two-step verification adds a second check when you sign in: as well as your "
                "password, you enter a 6-digit code from an authenticator app such as Google "
                "Authenticator, Microsoft Authenticator or 1Password. Each person sets it up in "
                "the app under Settings > Account > Security.",
            ),
        ),
        # "is asking if she could …" asks; "Great. Can I make it compulsory?" is about what the
        # customer asked before (two-step verification), not about "Great."
        [
            "We don't send codes by text message",
            "an admin can require two-step verification for every team member",
        ],
        [],
        id="sa-1054 'is asking if' asks; 'it' after 'Great.' is the thread's question",
    ),
    pytest.param(
        "Finally did the test strip that came in the box - dipped it, waited, and only one "
        "square went red. We're in Aberdeen so I suppose that figures. We do use the AquaPure "
        "filter. How often should I actually be swapping the filter, and how many cups do we "
        "get between descales?",
        (),
        ["| Soft (0 to 7 °dH) | 1 red square | 3 months | 3,000 cups | 1,500 cups |"],
        # "one square went red" is the Soft row's "1 red square", written in words
        ["| Medium (8 to 14 °dH)", "| Very hard (over 21 °dH)"],
        id="sa-685 a count written in words names its row",
    ),
    pytest.param(
        "I'm only on the free plan so there's nothing to cancel. But if I delete my account, "
        "does the Brew stop working? My girlfriend wants to put it on her account afterwards. "
        "And I've got a handful of recipes I'd quite like to hang on to - anything I should do "
        "first?",
        (
            (
                "customer",
                "I'm thinking of deleting my Kettleby account - I barely use the app these days. "
                "Anything I need to know first?",
            ),
            (
                "agent",
                "Before you delete, cancel any paid subscription first: deleting your account "
                "doesn't stop payments made through the App Store or Google Play. When you're "
                "ready, go to Settings > Account > Delete account in the app.",
            ),
        ),
        # recipes to "hang on to" are kept; "does the Brew stop working?" is another item of the
        # same list; "there's nothing to cancel" rules out cancelling first
        [
            "**Download your data** if you want to keep your recipes",
            "**Machines are released.**",
        ],
        ["**Cancel any paid subscription first.**"],
        id="sa-1055 hang on to; another item of the quoted list; nothing to cancel",
    ),
    pytest.param(
        "We're closing one of our two café sites at the end of the month, so I'll be taking one "
        "Brew off our Business plan halfway through the billing month. Do we get money back for "
        "the rest of that month? Also, I've heard a rumour your prices are going up - would we "
        "be stuck paying the higher price?",
        (),
        # "taking one Brew off our Business plan" is removing a machine from it
        ["we add a pro-rata account credit", "If we change our prices"],
        [],
        id="sa-1041 taking a machine off a plan is removing it",
    ),
    pytest.param(
        "My partner decided 'finer is better' and cranked the grind dial right down to 1 - while "
        "the machine was switched off, I might add. Ever since, the espresso trickles out really "
        "slowly and tastes harsh and bitter. What should we do to get back to normal? And could "
        "turning it with the machine off have harmed anything?",
        (),
        ["turn the grind dial one step coarser", "Only turn the dial while the grinder is running"],
        # "get back to normal" named the back of the machine: its leak's steps were added
        ["Water from the back of the machine", "Switch the machine off and unplug it."],
        id="sa-1045 back to normal is not the back of the machine",
    ),
    pytest.param(
        "I'm the practice manager at a dental surgery and we've got two Brews - one in the staff "
        "room, one in reception. I'm thinking of moving us to Business, paid monthly. What would "
        "that cost us a month? Our three receptionists would need to manage the machines too, so "
        "how many people can have admin rights? The partners will want figures on how much "
        "coffee we get through. And if we add a third machine for the new treatment wing in the "
        "summer, when does the price go up?",
        (),
        # "two Brews" names no row "Brew history"; ", so how many people can have admin rights?"
        # is a clause of its own, which names its row
        [
            "Hi, Price per month — Business: £12.99 per machine.",
            "| Team members with admin access | Not available | Not available | Up to 25 |",
        ],
        ["| Brew history |"],
        id="sa-1035 the product's name adds nothing to a row; ', so how many' is a clause",
    ),
    pytest.param(
        "The Brew in our office kitchen does a lot of lattes and cappuccinos, and most afternoons "
        "there's a puddle along the front of the counter. Someone's also pointed out that the "
        "steam wand keeps dripping for a bit after people froth their milk. Is the machine "
        "leaking? What should we be doing about it?",
        (),
        ["**Cause: the steam wand is dripping**", "**Cause: the drip tray is full**"],
        # "along the front" names *Water in front of the machine*: its sibling sections are other
        # problems, the one with no causes below it too (its steps had opened the reply)
        ["Water from the back of the machine", "Contact support, describing where the water"],
        id="sa-1047 a problem named rules out its sibling without causes below it",
    ),
    pytest.param(
        "After Sunday brunch (I made about eight flat whites back to back) there was a little "
        "bit of water under the Brew, maybe a spoonful, and the steam wand kept dripping onto "
        "the counter for a bit after each one. The tank's seated properly and the drip tray "
        "isn't full. Should I be worried?",
        (),
        ["Hi, **Condensation under the machine** [1]"],
        # "The tank's seated properly" names no problem: *Water under the water tank* is not the
        # one named, which would rule out the condensation beside it
        ["Water from the back of the machine"],
        id="sa-656 a part said to be seated properly names no problem",
    ),
    pytest.param(
        "Moving to Canada next month and I want to tidy up and close my Kettleby account. I pay "
        "for Plus on your website, so will the deletion go through while that's still running? "
        "I'd like to keep my recipes somehow. And will you wipe the receipts for the machine I "
        "bought from you? I might need them for the warranty.",
        (),
        # every word of "I'd like to keep my recipes somehow" is in the reply already (the
        # retention row): the list's other item that holds them answers it
        [
            "**Download your data** if you want to keep your recipes",
            "**Cancel any paid subscription first.**",
        ],
        [],
        id="sa-1012 another item of the quoted list holding the question's words",
    ),
    pytest.param(
        "My in-laws from Rotterdam are staying with us for a month and they'd love to use the "
        "Brew from their own phones. Their phones are set to Dutch - will the app be in Dutch "
        "for them? And how do they get onto our machine without using my login? I'm the one who "
        "set it up.",
        (),
        # "how do they get onto our machine" is about the in-laws, not the sentence before it
        ["English, French, German, Spanish, Italian and Dutch.", "**Share > Invite**"],
        [],
        id="sa-1017 'they' does not point back at the sentence before",
    ),
    pytest.param(
        "Our Brew has a red ring and the screen says E9. I've pressed the Brew button, switched "
        "it off at the wall for ten minutes and back on, and it's still E9. What is that one? "
        "Also if someone needs a serial number, the machine's wedged in under a wall cabinet and "
        "I really don't want to drag it out to look underneath it.",
        (),
        # "Also if someone needs a serial number, …" is a matter of its own: the story before it
        # (E9, the red ring) is not its story
        ["| E9 | Internal sensor fault |", "**Settings > Machine > About**"],
        [],
        id="sa-678 a matter opened by 'Also' has its own story",
    ),
    pytest.param(
        "The Brew in our office gets used mostly for hot water for tea, plus a few double "
        "espressos for the coffee snobs. We took the filter out months ago. The test strip "
        "showed 3 red squares. How many cups should we get between descales, and do the teas "
        "and doubles count? Is there somewhere in the app to keep an eye on it so it doesn't "
        "catch us out?",
        (),
        # the second sentence of a two-sentence note answered, the first (what a cup is) was cut
        [
            'A "cup" is any drink that runs water through the boiler, including hot water and '
            "steam. A double espresso counts as two cups.",
        ],
        [],
        id="sa-1004 a short paragraph is quoted from its start",
    ),
    pytest.param(
        "Our Brew's grinder has stopped working. It was delivered 26 months ago, so my husband "
        "says we're out of warranty - but I'm sure I read something about 3 years, and he did "
        "add it to the app the day it arrived. Also, he always descaled it with a cheap "
        "supermarket descaler (one that says it's for coffee machines) rather than your sachets. "
        "Does either of those matter?",
        (),
        # "Does either of those matter?" asks about each of the two things told before it: the
        # 3 years is the extended warranty
        ["**Extended warranty:** register your machine in the Kettleby app within 60 days"],
        [],
        id="sa-1009 'does either of those matter?' asks about each thing told",
    ),
    pytest.param(
        # "retiring to Spain" named shipping's *European Union* row, which opened the reply; the
        # standby question (after "…: how much") asked nothing, auto-off never came
        "We're retiring to Spain in the spring and I'd like to take our Brew - it's the UK one. "
        "Will it work over there? And I'm trying to cut our electricity use: how much does it "
        "draw when it's sitting on standby, and can I make it switch itself off sooner than it "
        "does now?",
        (),
        [
            "A UK machine works in the EU with a plug adapter",
            "| Standby power | 0.5 W |",
            "anything from 10 to 120 minutes",
        ],
        ["International (DHL)", "£9.95"],
        id="sa-1070 a place names no shipping row for a machine's use; ': how much' asks",
    ),
    pytest.param(
        # the claim's steps state "10 working days", which had passed for the warranty's length
        "The grinder on our Brew has just given up - it whirs for a second, then nothing. The "
        "machine is just over two years old, but I did add it to the app the day it arrived, if "
        "that changes anything. How do I go about claiming? We got rid of the original box ages "
        "ago, so I'm not sure how we'd even send it anywhere.",
        (),
        ["Choose a collection date", "your warranty is extended to 3 years"],
        [],
        id="sa-1063 a machine years old: the warranty's length in years",
    ),
    pytest.param(
        "There's a little pool of water under the Brew's water tank most mornings. I took the "
        "tank off to have a look and the small rubber ring underneath, round the valve, has a "
        "split in it. Is that what's doing it? Where would I get a new one? And is there "
        "anything else I should be checking while I'm at it?",
        (),
        ["order a replacement tank seal", "If the tank sits at an angle"],
        ["Water in front of the machine", "drip tray"],
        id="sa-1078 'anything else I should be checking?' asks for the problem's other causes",
    ),
    pytest.param(
        # the screen's message ("No machine found") named every cause below it alike, and the
        # button the customer pressed counted no more: "the phone is too far away" answered
        "I'm trying to add our Brew to the app on my iPhone but it just says No machine found. I "
        "think when a pop-up asked about finding devices on my network I hit Don't Allow without "
        "reading it. Also, my husband already set the machine up on his phone last year - do I "
        "actually need to add it myself?",
        (),
        ["Privacy & Security > Local Network"],
        ["stand within 2 metres"],
        id="sa-1080 the button pressed and the screen's message count apart",
    ),
    pytest.param(
        # "isn't in pairing mode" opened the reply though the light flashes blue
        "Trying to set up the Brew from the living room with my Pixel (the kitchen's through two "
        "walls but the router's in here so I thought that'd be better). The ring light's "
        "flashing blue but the app keeps saying 'No machine found'. I'm a bit of a privacy nerd "
        "so I always have a VPN running on the phone plus an ad blocker. Could any of that be "
        "messing with it?",
        (),
        ["pause the VPN or ad blocker"],
        ["pairing mode"],
        id="sa-713 a cause whose lacking state the message says holds is never quoted",
    ),
    pytest.param(
        # "still on iOS 15" read as a setting tried ("still on Medium"), which ruled out the
        # sentence naming the iOS versions; "Portuguese" named no language
        "I'm getting a Brew for my mother-in-law, who's moving in with us. Her phone is set up in "
        "Portuguese and it's an older iPhone still on iOS 15. Will the app work on it, and will "
        "it be in Portuguese? If not, could she just use the machine through my account instead "
        "of having her own?",
        (),
        ["iOS 16 or later", "The app follows the language of your phone"],
        [],
        id="sa-1081 a phone's version is not a fix tried; a language named is a language",
    ),
    pytest.param(
        "My order turned up yesterday with the beans and the descaler, but no milk jug, even "
        "though it's on the order. I've just spotted a second tracking link in the dispatch "
        "email, but when I click it there's nothing on it yet. Is the jug lost? And if it never "
        "shows up, how long have I got to tell you?",
        (),
        ["sent in more than one parcel", "let us know within **7 days** of delivery"],
        [],
        id="sa-1082 'is the jug lost?' asks about a missing item",
    ),
    pytest.param(
        # "never touched the temperature" ruled the temperature's causes out, though the next
        # sentence asks whether it is the problem: only the sour side was answered
        "Two of us, two very different coffees: I drink a light Ethiopian and my husband has a "
        "dark Italian roast, and we swap the beans in the hopper depending on whose turn it is. "
        "Lately his come out bitter and mine come out sour, and we've never touched the "
        "temperature. Is that the problem? Where do I change it, and what should it be for each "
        "of us?",
        (),
        ["Dark roasts turn bitter at high temperatures", "Medium (92 °C)", "High (96 °C)"],
        [],
        id="sa-1077 'never touched X. Is that the problem?' suggests X, rules nothing out",
    ),
    pytest.param(
        # each later question's best unit was the *Free trial* row the reply quotes, and the next
        # unit had to come within 0.8 of a score the row's bonus had made
        "Hallo from Cologne! I'm on the free plan with the app on my Android phone and thinking "
        "about trying Plus. Do I get any sort of report on how much coffee I'm drinking with it? "
        "Is there a trial first, and do I have to hand over card details to get it? And your "
        "website lists everything in pounds - what will I actually be charged here in Germany?",
        (),
        [
            "| Usage reports |",
            "You need to add a payment method to start a trial",
            "show the price in your local currency",
        ],
        [],
        id="sa-1067 a quoted row is measured without its bonus for the next unit",
    ),
    pytest.param(
        "We're having a new kitchen fitted and I want the Brew hidden away on a pull-out shelf "
        "inside a tall larder unit. The fitter needs its width, depth and height, and wants to "
        "know if we need extra clearance above it. Also, because it'll be out of sight behind a "
        "door, I'm worried it'll get left on all day - does it switch itself off?",
        (),
        ["24 x 43 x 36 cm", "leave room above it to lift the lid", "anything from 10 to 120"],
        [],
        id="sa-1005 the clearance above, beside the dimensions row",
    ),
    pytest.param(
        # "the kettle is furring up already" read as a fix already tried, so "I did the strip
        # test from the box" ruled out every row that names the strip: the reply was the
        # on-machine sentence alone; "where is that setting?" gets the procedure whose step says
        # where, beside the quoted row
        "We've just moved from Devon to Kent and the kettle is furring up already. I did the "
        "strip test from the box and got four red squares. What level should I set in the app, "
        "and where is that setting? I keep the filter in, by the way - my husband reckons it "
        "doesn't actually make any difference to how often we need to descale. Is he right?",
        (),
        ["| Very hard (over 21 °dH) | 4 red squares |", "Settings > Maintenance > Water hardness"],
        [],
        id="sa-1038 'already' closing a sentence is how soon; 'where is that setting?': the steps",
    ),
    pytest.param(
        # the article's intro alone: "each time I use it" is "After every use", "a quick routine"
        # asks for steps, and "Not the big weekly soak, just …" rules the deep clean out
        "I've got into making flat whites most mornings and the steam wand is already getting "
        "crusty bits of dried milk on it. Is there a quick routine I should be doing each time I "
        "use it? Not the big weekly soak, just the everyday bit.",
        (),
        ["Wipe the wand with a damp cloth straight after frothing", "swing it back to its resting"],
        ["Unscrew the frothing tip"],
        id="sa-1096 'each time I use it', 'a quick routine', 'Not the …, just …'",
    ),
    pytest.param(
        # "I did put a new filter in this week though" read as a fix already tried: the filter's
        # cause was ruled out, and it is the one a new filter points to
        "E4 again on the Brew, pump buzzing away and hardly anything coming out. I've already "
        "done the hot-water-button priming thing and I descaled it on Sunday, so it's not that. I "
        "did put a new filter in this week though. Oh, and the kids keep rinsing milky cups out "
        "in the tank (don't ask). Anything else I can try before I ring you?",
        (),
        ["Take the filter out of the tank and make a drink without it", "Press the valve"],
        ["Hold the Hot water button for 5 seconds to prime the pump"],
        id="sa-1112 'I did put a new filter in' is what happened, not a fix tried",
    ),
    pytest.param(
        # "…, is that normal" without a question mark was not read as asking: only the discount
        # codes were answered
        "two things - can I use my newsletter code AND the one my friend sent me on the same "
        "order? and my beans order got dispatched this morning but the tracking link shows "
        "nothing at all yet, is that normal",
        (),
        ["only one discount code can be used per order", "Tracking can take up to 24 hours"],
        [],
        id="sa-1114 a closing ', is that normal' asks",
    ),
    pytest.param(
        # "redo the whole thing" is "start again": the sentence that says from which step
        "Right, I got as far as the rinse but then my daughter switched it off at the plug and "
        "the orange drop is still showing. Do I have to redo the whole thing? Also once it's all "
        "done, is a slight chemical smell in the first coffee something to worry about?",
        (
            (
                "customer",
                "We never connected our Brew to the app. How do I descale it just using the "
                "machine?",
            ),
            (
                "agent",
                "Take the water filter out of the tank, pour one sachet of descaler into the tank "
                "and fill it with water up to the MAX line. Press and hold the Steam and Hot water "
                "buttons together for 5 seconds until the ring light pulses orange, put a "
                "container under the spout and press the Brew button.",
            ),
        ),
        ["start again from step 3", "A faint descaler smell in the first cup"],
        [],
        id="sa-1116 'redo the whole thing' is 'start again'",
    ),
    pytest.param(
        # each question's words were matched with another question's unit (the "I'd rather"
        # sentence asks as the article words it, not as the customer does), and the invoices
        # question, answered already, brought the Business accounts section
        "Thinking of deleting my Kettleby account altogether. Would that wipe my old shop "
        "invoices too? I'd rather nothing was left. And my husband uses the Brew every morning "
        "with the buttons - will it stop working once the account's gone?",
        (),
        ["invoices for things you bought, must be kept by law", "keeps working with its buttons"],
        ["Only the account owner can delete a Business account"],
        id="sa-1108 a question answered already by the reply's closest unit adds nothing",
    ),
    pytest.param(
        # "from the sofa … at the other end of the house" is the phone too far away, and "if
        # that makes any difference?" asks about the causes: only the VPN's was quoted
        "Trying to set up the Brew from the sofa (it's in the kitchen at the other end of the "
        "house). The light's flashing blue but the app just keeps saying No machine found. I've "
        "also got NordVPN running on my phone, if that makes any difference?",
        (),
        ["pause the VPN or ad blocker", "stand within 2 metres of the machine"],
        ["hold the Power button for 3 seconds again"],
        id="sa-1109 'at the other end of the house' is too far away",
    ),
    pytest.param(
        # the fix says to turn the grind dial; the article's caution on turning it was not quoted
        "Since I switched to a light roast from a little roastery in town my coffee has come out "
        "really sharp and sour. The beans are super fresh, roasted three days ago! Grind's on 7 "
        "if that helps. What am I doing wrong?",
        (),
        ["turn the grind dial one step finer", "Only turn the dial while the grinder is running"],
        [],
        id="sa-1110 a quoted fix brings the article's caution on doing it",
    ),
    pytest.param(
        # "are they properly gone or sitting on a server somewhere?" asks about the backups
        "I'm having a bit of a digital clear-out. If I delete some old recipes and schedules in "
        "the app, how long do you hang on to them - are they properly gone or sitting on a server "
        "somewhere? Also I had a long back-and-forth with your support team last year about a "
        "leak, how long do you keep those chats?",
        (),
        [
            "Until you delete them or delete your account",
            "3 years after the conversation is closed",
            "Deleted data can remain in our encrypted backups for a short time",
        ],
        [],
        id="sa-1103 'properly gone' asks what the backups keep",
    ),
    pytest.param(
        # … and "has actually gone through" is done, not gone: read as backups, it opened the
        # reply with the web cancellation steps and the cancellation article's notes
        "I'm planning to delete my Kettleby account. I pay for Plus on your website, not through "
        "Apple or Google. Will deleting the account stop the monthly payments, or do I need to "
        "cancel separately? And how will I know the deletion has actually gone through?",
        (),
        ["Cancel any paid subscription first."],
        ["Deleting the app from your phone"],
        id="sa-528 'has actually gone through' is not 'properly gone'",
    ),
    pytest.param(
        # "… a cup count - how long do you hang on to those" was not read as asking, so the
        # message's questions were one: the inactive accounts went unanswered
        "I hardly use the Kettleby app any more and I'm on the free plan. If I just stop signing "
        "in, do you eventually delete the account yourselves, and would I get any warning? Also, "
        "my machine sends you error logs and a cup count - how long do you hang on to those, and "
        "do you do anything else with them?",
        (),
        [
            "haven't signed in for 3 years, we'll delete it",
            "24 months from when they were recorded",
        ],
        [],
        id="sa-1071 '- how long do you …' asks",
    ),
    pytest.param(
        # "the app seems to nag me to descale constantly - is that why?": the reminders, which
        # the factory setting explains
        "finally did the test strip that came in the box (only took me 8 months lol) and it's got "
        "2 red squares. I never set anything when I set the machine up and the app seems to nag "
        "me to descale constantly - is that why? I mostly use the Brew for hot water for tea tbh, "
        "does that even count towards it? And where in the app can I see how many cups I've got "
        "left before the next one?",
        (),
        ["| Medium (8 to 14 °dH) | 2 red squares |", "The factory setting is **Hard**"],
        [],
        id="sa-972 'nag me to descale' is about the reminders",
    ),
    pytest.param(
        # "I was also hoping to put my business Amex on alongside my personal debit card." asks
        # for a second card: "You can only have one card on file at a time"
        "I'm self-employed and pay for Plus on my.kettleby.com. I'd like to pay with PayPal, like "
        "I do in your shop - can I? If not, what can I use? I was also hoping to put my business "
        "Amex on alongside my personal debit card. And where do I get invoices for my accountant?",
        (),
        ["You can only have one card on file at a time", "Billing > Invoices"],
        [],
        id="sa-1076 'I was hoping to' asks; a card 'alongside' another is two on file",
    ),
    pytest.param(
        # "can't find a download option - where is it?" asks for the steps, and "rather than
        # everything" ruled them out (a step says "or leave everything ticked")
        "I want a copy of my recipes to share with my nephew, who's helping me tidy them up. I've "
        "been all through the app on my phone and can't find a download option - where is it? Can "
        "I download just the recipes rather than everything? And I'd rather he didn't see any card "
        "numbers - will they be in the file?",
        (),
        ["Account > Privacy > Download my data", "Payment card numbers are never included"],
        [],
        id="sa-1051 'can't find the option - where is it?': the steps; 'everything' rules out none",
    ),
    pytest.param(
        # "is the machine dying??" asks what is wrong: only the descale cause, which the orange
        # drop names, was quoted, not the cup size and the stale beans the message tells of
        "my coffee has gone really weak and watery lately, like brown water tbh. I always use the "
        "biggest cup size because I've got a massive mug. beans are from a 1kg bag I opened about "
        "2 months ago, I just tip the whole lot in the hopper. oh and the orange drop thing has "
        "been on for a while. is the machine dying??",
        (),
        [
            "If the orange drop icon is showing, descale the machine.",
            "or choose a smaller cup size",
            "Beans lose most of their flavour within about 4 weeks of opening the bag.",
        ],
        [],
        id="sa-1142 'is the machine dying?' asks for the causes",
    ),
    pytest.param(
        # "Can I just ask for another one straight away?" alone means nothing: "another one" is
        # the export the sentence before it tells of (only the file's format was answered)
        "I requested it just before going on holiday and only opened the email now, ten days "
        "later - the link says it's expired. Can I just ask for another one straight away? And I "
        "want to have a play with my brew history in Excel, what format will that come in?",
        (
            ("customer", "Can I download a copy of all the data you have on my Kettleby account?"),
            (
                "agent",
                "Yes, for free. Sign in at my.kettleby.com, go to Account > Privacy > Download "
                "my data, leave everything ticked (or pick what you want) and click Request "
                "export. We'll email you when it's ready, usually within a few minutes, and you "
                "can download the ZIP file from the link in the email.",
            ),
        ),
        ["You can request one export every 24 hours.", "brew history and orders are CSV files"],
        [],
        id="sa-1150 'another one' points back to the sentence before",
    ),
    pytest.param(
        # "can I go back to monthly?" beside the way to yearly, which the reply quotes: the way
        # back, a section of the same words, was left out
        "I pay monthly for Plus on the website. I'm clearly not going anywhere so I'm thinking "
        "of switching to the yearly option. If I switch now, do I get charged the year on top of "
        "the month I've already paid? Roughly how much would I save? And if I change my mind "
        "next year, can I go back to monthly?",
        (),
        [
            "so you'll never pay for the same month twice",
            "**Switching from yearly to monthly** [1] This takes effect when your current year",
        ],
        [],
        id="sa-1138 'go back to monthly' is the section from yearly to monthly",
    ),
    pytest.param(
        # two problems told, "Should I be worried about either?": naming the tank's did not rule
        # out the condensation section (a puddle "maybe a spoonful" after ten coffees)
        "Two little water mysteries with our Brew. After Sunday brunch (about ten coffees back to "
        "back) there was a small puddle under the machine, maybe a spoonful. And this week "
        "there's been water under the end where the tank is, even on quiet days - the tank has "
        "sat slightly wonky since my son put it back. Should I be worried about either?",
        (),
        ["up to about a tablespoon is normal"],
        [],
        id="sa-1143 a message asking about either of two problems rules neither out",
    ),
    pytest.param(
        # "and yes the hopper is full of beans" says what was checked: the stale beans' cause
        # (hopper, beans, "use in a week") was added from another article as a second part
        "The grinder on my Brew seems to have died - the motor whirrs but nothing gets ground, "
        "and yes the hopper is full of beans. It's about 14 months old and I bought it from your "
        "website. How do I get it fixed under the warranty? And am I going to be without a coffee "
        "machine for weeks?",
        (),
        ["Settings > Machine > Warranty claim", "send it back within 10 working days"],
        ["Beans lose most of their flavour"],
        id="sa-1129 'yes the hopper is full of beans' rules out the beans",
    ),
    pytest.param(
        # "I'm on monthly Plus … Can I have the other three-and-a-bit weeks refunded?" beside a
        # brother's yearly plan: the yearly rules answered both, *Monthly plans* never quoted
        "I'm on monthly Plus through my.kettleby.com - it went out on the 1st and I cancelled "
        "today (the 6th). Can I have the other three-and-a-bit weeks refunded? Also asking for "
        "my brother: he's on yearly and cancelled about three weeks after it renewed. Does he get "
        "anything back?",
        (),
        ["We don't give refunds for part of a month.", "yearly plans aren't refunded"],
        [],
        id="sa-1010 a question's story names the parallel section its answer is under",
    ),
    pytest.param(
        # the message's one question opens "Also": the report before it (the permission) was
        # answered, the question (a husband's machine, added already) was not
        "I'm trying to add our Brew to the app on my iPhone but it just says No machine found. I "
        "think when a pop-up asked about finding devices on my network I hit Don't Allow without "
        "reading it. Also, my husband already set the machine up on his phone last year - do I "
        "actually need to add it myself?",
        (),
        [
            "switch on Kettleby",
            "A machine can only be connected to one Kettleby account.",
            "share it with you from the app instead of adding it again",
        ],
        [],
        id="sa-1080 a question opening 'Also' sets the report before it apart",
    ),
]


OPENINGS = [
    pytest.param(
        # "How do I turn it off?" names *Turning it off*; the article's procedure *Set it up*,
        # which only the story names ("maybe set it up again later"), led (dev, sent)
        "My authenticator app is on my work phone and I'm handing that phone back when I leave "
        "next Friday. I'd rather just switch the two-step code thing off on my Kettleby account "
        "for now and maybe set it up again later on my own phone. How do I turn it off?",
        "Hi, **Turning it off** [1]",
        id="sa-389 a how-question naming a section's heading: that section first",
    ),
    pytest.param(
        # "even with … the temperature already on Medium" got "choose Medium (92 °C)" first
        "Had the Brew a week. Every espresso is harsh and bitter, almost burnt, even with a "
        "medium roast and the temperature already on Medium. A friend reckons it's the grind, "
        "but I can't even see where you change that on this machine. Help?",
        "Hi, **Cause: the grind is too fine** [1]",
        id="sa-535 a setting the customer already has is not the fix that leads",
    ),
    pytest.param(
        # the weekly deep clean, which the customer says they know of and will do, led (sent)
        "Just started making flat whites on the Brew and I'm hooked. I gather there's a weekly "
        "soak for the frothing tip, which I'll do, but what should I be doing with the steam "
        "wand each time, straight after I've frothed the milk?",
        "Hi, **After every use** [1]",
        id="sa-694 what the customer knows, then ', but what …': the question; each time after",
    ),
    pytest.param(
        # a one-sentence instruction with a menu path is the procedure a "how do I" asks for:
        # the factory reset's steps ("Switch the machine off …") led
        "I switched on the two-step code thing when I set up my account, but I'm the only one who "
        "uses it and typing a code from the authenticator every time I get a new phone or log in "
        "on the website is more hassle than it's worth for a coffee app. I've still got the "
        "authenticator app. How do I switch it off?",
        "Hi, **Turning it off** [1]",
        id="sa-684 an instruction sentence with a menu path answers 'how do I switch it off'",
    ),
    pytest.param(
        # the procedure's own intro ("Use this when the app can't reach the machine, for example
        # after you changed your router.") had been set before its heading, as a correction
        "We had fibre put in last week and the engineer swapped our router for a new one. Now "
        "the app just says the Brew is offline and won't let me into any of its settings. A mate "
        "said to factory reset it, but obviously I can't do that through the app. How do I do it "
        "on the machine itself?",
        "Hi, **Reset on the machine** [2] Use this when the app can't reach the machine",
        id="sa-738 a procedure's intro stays under its heading",
    ),
    pytest.param(
        # the best unit is the procedure's intro ("Use this when the machine is online …"): the
        # procedure answers, its intro under its heading (the intro had opened the reply alone,
        # the selling note between it and the steps)
        "I'm selling my Brew on Marketplace this weekend and want to wipe it before the buyer "
        "collects. It's still online and shows as connected in the app, so I'd rather do it "
        "from my phone than faff with the buttons. What do I tap?",
        "Hi, **Reset from the app** [1] Use this when the machine is online",
        id="sa-741 a procedure's intro brings the procedure",
    ),
]


@pytest.mark.parametrize(("latest", "opening"), OPENINGS)
def test_a_reply_opens_with_the_section_that_answers(kettleby_url, real_embedder, latest, opening):
    text = reply(kettleby_url, real_embedder, latest)
    assert text.startswith(opening), text


def test_a_row_named_only_by_the_product_name_does_not_open_the_reply(kettleby_url, real_embedder):
    """sa-370 (dev, read in session 31): sent, complete by its facts, but opening with "Brew
    history — Business: 3 years." (a row named by "4 Brews") before the section that answers.
    Since session 43 the product's name, which most articles hold, names no row at all; the
    reply (the upgrade's proration, not the per-machine price) is still an agent's to check."""
    latest = (
        "Our office is on Business, paying monthly, with 4 Brews on it. Two more are being "
        "delivered next week for the new floor. When we add them to the account do we get "
        "charged for them straight away, or how does it work?"
    )
    prepared = prepare(kettleby_url, real_embedder, latest)
    assert "Brew history" not in prepared.draft.text
    assert prepared.decision.action == Action.draft, prepared.decision.signals


def test_rows_of_one_table_asked_apart_are_quoted_in_one_table(kettleby_url, real_embedder):
    """sa-658 (dev): the weight asked with the whole message, the mains voltage by its own
    question; the specifications table had been quoted twice, a row each."""
    latest = (
        "We're moving from Bristol to Lisbon in September and want to take the Brew with us. "
        "Will our UK machine actually work in Portugal? Also how heavy is it - I'm working out "
        "what goes in the car and what goes with the removal firm."
    )
    text = prepare(kettleby_url, real_embedder, latest).draft.text
    assert text.count("| Specification | Kettleby Brew (KB-200) |") == 1, text
    assert "| Weight | 8.2 kg |\n| Mains voltage |" in text, text


def test_a_reply_never_says_a_paragraph_twice(kettleby_url, real_embedder):
    """sa-313 (dev, sent): the sentence that answers opened the reply, and the procedure quoted
    after it ended with the same sentence as its note."""
    latest = (
        "I did a data download from my account this morning but forgot to tick my brew "
        "history. Can I just request another one straight away? Also the link from an export I "
        "did last month doesn't work any more - is that normal?"
    )
    text = reply(kettleby_url, real_embedder, latest)
    assert text.count("You can request one export every 24 hours.") == 1, text
    assert "The link expires after 7 days." in text, text


@pytest.mark.parametrize(("latest", "thread", "present", "absent"), CASES)
def test_a_reply_read_end_to_end(kettleby_url, real_embedder, latest, thread, present, absent):
    text = reply(kettleby_url, real_embedder, latest, thread)
    for wanted in present:
        assert wanted in text, text
    for unwanted in absent:
        assert unwanted not in text, text


def test_after_everything_was_tried_the_last_resort_comes_before_the_fixes(
    kettleby_url, real_embedder
):
    """sa-565 (dev, read in session 41): "after going through everything on your E4 page" the
    reply quoted the fixes the customer had done and never what is left to do."""
    latest = (
        "Still getting E4 after going through everything on your E4 page - primed it with the "
        "hot water button, tried it with the filter out, ran a descale, and pressed the valve "
        "under the tap. The pump just buzzes. Is that OK, or what's the next step?"
    )
    text = reply(kettleby_url, real_embedder, latest)
    last = text.index("stop using the machine and contact support")
    assert "Hold the Hot water button" not in text[:last], text


def test_a_sentence_quoted_alone_is_not_said_again_by_its_section(kettleby_url, real_embedder):
    """sa-918 (dev, read in session 45): the E4 article's "E4 means …" opened the reply and came
    again inside the *Symptom* section quoted after it."""
    latest = (
        "My toddler managed to tip some of his milk into the Brew's water tank while I wasn't "
        "looking (!). I've washed the tank out properly and refilled it, but now it shows E4, "
        "the ring is red and the pump just buzzes without much water coming through. Have I "
        "wrecked it?"
    )
    text = reply(kettleby_url, real_embedder, latest)
    assert text.count("E4 means the machine's flow meter didn't detect water") == 1, text
