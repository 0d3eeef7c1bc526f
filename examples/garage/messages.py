"""The garage's texts in Finnish and English: t("key") in the templates."""

MESSAGES = {
    "fi": {
        "site_name": "Korjaamo Virtanen",
        "footer": "Demokorjaamo: varaukset ovat kokeiluja. Kirjautuminen Avaimella.",
        "sign_in": "Kirjaudu Avaimella",
        "sign_out": "Kirjaudu ulos",
        "customer": "Asiakas",
        "signed_in": "Kirjautunut Avaimella",
        "signin_cancelled": "Kirjautuminen peruttiin.",
        "signin_failed": "Kirjautuminen ei onnistunut. Yritä uudelleen.",
        "nav_calendar": "Ajanvaraus",
        "nav_bookings": "Omat varaukset",
        "calendar_title": "Varaa renkaanvaihto",
        "calendar_intro": "Renkaanvaihto kestää noin tunnin. Valitse vapaa aika.",
        "calendar_sign_in": "Kirjaudu Avaimella varataksesi ajan.",
        "book": "Varaa",
        "taken": "Varattu",
        "yours": "Sinun varauksesi",
        "booked": "Aika on varattu. Tervetuloa!",
        "slot_taken": "Joku ehti varata ajan ensin. Valitse toinen aika.",
        "slot_unknown": "Tätä aikaa ei voi varata.",
        "bookings_title": "Omat varaukset",
        "bookings_sign_in": "Kirjaudu nähdäksesi varauksesi.",
        "bookings_none": "Sinulla ei ole varauksia.",
        "booking_line": "{day} klo {slot}: renkaanvaihto",
        "booked_for": "Varaaja: {name}, puh. {phone}",
        "car": "Auto: {plate}",
        "tires_bought": "Renkaat: {tires}",
        "fitting_title": "Renkaanvaihdon varaus",
        "fitting_intro": (
            "Rengasverkkokauppa välitti tietosi Avaimen kautta luvallasi. Tarkista tiedot ja "
            "valitse aika."
        ),
        "field_name": "Nimi",
        "field_phone": "Puhelinnumero",
        "field_car": "Auton rekisterinumero",
        "field_tires": "Ostetut renkaat",
        "field_when": "Aika",
        "order": "tilaus {number}",
        "book_fitting": "Varaa renkaanvaihto",
        "handoff_refused_title": "Tietoja ei otettu vastaan",
        "handoff_invalid": (
            "Kaupan välittämä tunniste ei ole kelvollinen. Mitään tietoja ei otettu vastaan."
        ),
        "handoff_expired": (
            "Kaupan välittämä tunniste on vanhentunut. Palaa kauppaan ja varaa vaihto uudelleen."
        ),
        "handoff_not_redeemed": (
            "Avain ei hyväksynyt tunnistetta: se on jo käytetty tai lupasi on peruttu. Mitään "
            "tietoja ei otettu vastaan."
        ),
        "handoff_no_userinfo": (
            "Avain ei antanut asiakkaan tietoja korjaamolle. Mitään tietoja ei otettu vastaan. "
            "Yritä hetken päästä uudelleen kaupan sivulta."
        ),
        "handoff_other_customer": (
            "Avaimessa on kirjautuneena eri henkilö kuin se, jonka tiedot kauppa välitti. "
            "Korjaamo ei säilyttänyt tietoja eikä kirjannut sinua sisään."
        ),
        "handoff_withdrawn": (
            "Rengasverkkokaupan välittämät tietosi on poistettu, koska peruit suostumuksesi."
        ),
        "returning": "Tervetuloa takaisin! Asiakasnumerosi on {number}.",
        "stored_tires": "Säilytyksessä olevat renkaasi: {tires}",
        "link_question": "Oletko asiakkaamme {number}?",
        "link_explain": (
            "Avaimen tietosi vastaavat asiakasrekisterimme tietoja. Yhdistämällä näet "
            "asiakasnumerosi ja säilytyksessä olevat renkaasi."
        ),
        "link_confirm": "Yhdistä",
        "link_dismiss": "En ole",
        "linked": "Asiakkuutesi on yhdistetty.",
        "handoff_pending": "Rengasverkkokaupan välittämät tiedot odottavat: jatka varaukseen.",
    },
    "en": {
        "site_name": "Korjaamo Virtanen",
        "footer": "Demo garage: bookings are for trying out. Sign-in with Avain.",
        "sign_in": "Sign in with Avain",
        "sign_out": "Sign out",
        "customer": "Customer",
        "signed_in": "Signed in with Avain",
        "signin_cancelled": "Sign-in was cancelled.",
        "signin_failed": "Sign-in did not succeed. Please try again.",
        "nav_calendar": "Book a time",
        "nav_bookings": "Your bookings",
        "calendar_title": "Book a tire fitting",
        "calendar_intro": "A tire change takes about an hour. Pick a free time.",
        "calendar_sign_in": "Sign in with Avain to book a time.",
        "book": "Book",
        "taken": "Taken",
        "yours": "Your booking",
        "booked": "Your time is booked. Welcome!",
        "slot_taken": "Someone booked that time first. Please pick another.",
        "slot_unknown": "That time cannot be booked.",
        "bookings_title": "Your bookings",
        "bookings_sign_in": "Sign in to see your bookings.",
        "bookings_none": "You have no bookings.",
        "booking_line": "{day} at {slot}: tire fitting",
        "booked_for": "Booked by {name}, phone {phone}",
        "car": "Car: {plate}",
        "tires_bought": "Tires: {tires}",
        "fitting_title": "Book your tire fitting",
        "fitting_intro": (
            "Rengasverkkokauppa passed on your details through Avain with your permission. Check "
            "them and pick a time."
        ),
        "field_name": "Name",
        "field_phone": "Phone number",
        "field_car": "Car registration number",
        "field_tires": "Tires bought",
        "field_when": "Time",
        "order": "order {number}",
        "book_fitting": "Book the fitting",
        "handoff_refused_title": "Nothing was received",
        "handoff_invalid": "The token the shop passed on is not valid. No details were received.",
        "handoff_expired": (
            "The token the shop passed on has expired. Go back to the shop and book the fitting "
            "again."
        ),
        "handoff_not_redeemed": (
            "Avain did not accept the token: it was used already or your permission was "
            "withdrawn. No details were received."
        ),
        "handoff_no_userinfo": (
            "Avain did not give the garage the customer's details. No details were received. "
            "Try again from the shop's page in a moment."
        ),
        "handoff_other_customer": (
            "Someone else is signed in at Avain than the person whose details the shop passed on."
            " The garage kept nothing and did not sign you in."
        ),
        "handoff_withdrawn": (
            "The details Rengasverkkokauppa passed on were deleted because you withdrew your "
            "consent."
        ),
        "returning": "Welcome back! Your customer number is {number}.",
        "stored_tires": "Your tires in storage: {tires}",
        "link_question": "Are you our customer {number}?",
        "link_explain": (
            "Your details at Avain match our customer register. Link them to see your customer "
            "number and your stored tires."
        ),
        "link_confirm": "Link",
        "link_dismiss": "No, that is not me",
        "linked": "Your customer account is linked.",
        "handoff_pending": "The details from Rengasverkkokauppa are waiting: continue booking.",
    },
}
