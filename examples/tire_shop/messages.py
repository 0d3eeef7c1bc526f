"""The shop's texts in Finnish and English: t("key") in the templates."""

MESSAGES = {
    "fi": {
        "site_name": "Rengasverkkokauppa",
        "footer": "Demokauppa: mitään ei makseta eikä toimiteta. Kirjautuminen Avaimella.",
        "sign_in": "Kirjaudu Avaimella",
        "sign_out": "Kirjaudu ulos",
        "customer": "Asiakas",
        "signed_in": "Kirjautunut Avaimella",
        "signin_cancelled": "Kirjautuminen peruttiin.",
        "signin_failed": "Kirjautuminen ei onnistunut. Yritä uudelleen.",
        "nav_products": "Renkaat",
        "nav_cart": "Ostoskori ({count})",
        "nav_orders": "Tilaukset",
        "products_title": "Talvi- ja kesärenkaat",
        "winter": "Talvirengas",
        "summer": "Kesärengas",
        "per_tire": "/ kpl",
        "quantity": "Määrä",
        "add_to_cart": "Lisää koriin",
        "added": "Renkaat lisättiin ostoskoriin.",
        "cart_title": "Ostoskori",
        "cart_empty": "Ostoskori on tyhjä.",
        "product": "Tuote",
        "price": "Hinta",
        "subtotal": "Yhteensä",
        "total": "Yhteensä",
        "empty_cart": "Tyhjennä kori",
        "checkout": "Tilaa",
        "checkout_note": "Demossa ei makseta: tilaus tallennetaan tilaushistoriaasi.",
        "sign_in_to_order": "Kirjaudu Avaimella tilataksesi.",
        "ordered": "Kiitos! Tilauksesi on vastaanotettu.",
        "orders_title": "Tilaushistoria",
        "orders_sign_in": "Kirjaudu nähdäksesi tilauksesi.",
        "orders_none": "Sinulla ei ole vielä tilauksia.",
        "order_number": "Tilaus {number}",
        "continue_shopping": "Jatka ostoksia",
        "recorded_in_avain": "Tilaus on tallennettu Avain-profiiliisi.",
        "not_recorded": (
            "Tilausta ei saatu tallennettua Avain-profiiliisi. Tilaus on silti voimassa."
        ),
        "record_retry": "Yritä tallentaa uudelleen",
        "record_failed": (
            "Tilaus on vastaanotettu, mutta sitä ei saatu tallennettua Avain-profiiliisi. Voit "
            "yrittää uudelleen tilauksen kohdalta."
        ),
        "recorded": "Tilaus tallennettiin Avain-profiiliisi.",
        "book_fitting": "Varaa renkaanvaihto Korjaamo Virtaselta",
        "book_fitting_note": "Avain kysyy ensin, mitä tietoja korjaamo saa.",
        "fitting_refused": "Et antanut lupaa, joten korjaamolle ei välitetty mitään.",
        "handoff_title": "Siirrytään Korjaamo Virtaselle",
        "handoff_text": (
            "Avain antoi luvan tiedoillesi. Jatka korjaamolle, jos sivu ei siirry itse."
        ),
        "handoff_continue": "Jatka Korjaamo Virtaselle",
        "handoff_failed_title": "Tietoja ei voitu välittää korjaamolle",
        "handoff_failed_text": (
            "Avain ei antanut korjaamolle tarkoitettua tunnistetta. Korjaamolle ei välitetty "
            "mitään. Avaimen vastaus:"
        ),
        "handoff_other_customer": (
            "Avaimessa on kirjautuneena eri asiakas kuin tässä kaupassa. Korjaamolle ei välitetty"
            " mitään."
        ),
        "back_to_orders": "Takaisin tilauksiin",
    },
    "en": {
        "site_name": "Rengasverkkokauppa",
        "footer": "Demo shop: nothing is paid or delivered. Sign-in with Avain.",
        "sign_in": "Sign in with Avain",
        "sign_out": "Sign out",
        "customer": "Customer",
        "signed_in": "Signed in with Avain",
        "signin_cancelled": "Sign-in was cancelled.",
        "signin_failed": "Sign-in did not succeed. Please try again.",
        "nav_products": "Tires",
        "nav_cart": "Cart ({count})",
        "nav_orders": "Orders",
        "products_title": "Winter and summer tires",
        "winter": "Winter tire",
        "summer": "Summer tire",
        "per_tire": "each",
        "quantity": "Quantity",
        "add_to_cart": "Add to cart",
        "added": "The tires were added to your cart.",
        "cart_title": "Cart",
        "cart_empty": "Your cart is empty.",
        "product": "Product",
        "price": "Price",
        "subtotal": "Subtotal",
        "total": "Total",
        "empty_cart": "Empty the cart",
        "checkout": "Place order",
        "checkout_note": "No payment in the demo: the order is saved in your order history.",
        "sign_in_to_order": "Sign in with Avain to place the order.",
        "ordered": "Thank you! Your order has been received.",
        "orders_title": "Order history",
        "orders_sign_in": "Sign in to see your orders.",
        "orders_none": "You have no orders yet.",
        "order_number": "Order {number}",
        "continue_shopping": "Continue shopping",
        "recorded_in_avain": "The order is recorded in your Avain profile.",
        "not_recorded": (
            "The order could not be recorded in your Avain profile. The order itself stands."
        ),
        "record_retry": "Try recording it again",
        "record_failed": (
            "Your order was received, but it could not be recorded in your Avain profile. You can"
            " try again at the order."
        ),
        "recorded": "The order was recorded in your Avain profile.",
        "book_fitting": "Book the fitting at Korjaamo Virtanen",
        "book_fitting_note": "Avain first asks you what the garage may receive.",
        "fitting_refused": "You did not give permission, so nothing was shared with the garage.",
        "handoff_title": "On to Korjaamo Virtanen",
        "handoff_text": (
            "Avain has your permission. Continue to the garage if the page does not move on by "
            "itself."
        ),
        "handoff_continue": "Continue to Korjaamo Virtanen",
        "handoff_failed_title": "Your details could not be passed to the garage",
        "handoff_failed_text": (
            "Avain did not issue the token for the garage. Nothing was shared with the garage. "
            "Avain's answer:"
        ),
        "handoff_other_customer": (
            "Another customer is signed in at Avain than in this shop. Nothing was shared with "
            "the garage."
        ),
        "back_to_orders": "Back to your orders",
    },
}
