"""The `orders/paid` bodies the receive benchmark signs: the sample order scaled to any number of
line items, each a distinct product, trimmed or as a store sends it.

Field names and shapes are those Shopify documents for an order and its line items; every value is
made up (example.com, 192.0.2.1, "Example Buyer").
"""

from __future__ import annotations

import json

from adapterctl.samples import PAYLOADS


def scaled_order(lines: int, *, as_sent: bool = True) -> bytes:
    """The sample order with `lines` line items, each a distinct product.

    The sample carries only the fields the mapping reads (~200 bytes a line); `as_sent` adds the
    other fields Shopify's order payload documents (prices in shop and presentment currency, tax
    and shipping lines, addresses, client details, ...): about 1 KiB a line and 5 KiB for the rest
    of the order, the body a store's webhook carries.
    """
    order = json.loads((PAYLOADS / "shopify" / "orders-paid.json").read_bytes())
    template = next(line for line in order["line_items"] if line.get("product_id") and not line.get("gift_card"))
    if as_sent:
        order.update(_documented_order_fields(order))
        template = {**template, **_documented_line_fields(template)}
    order["line_items"] = [
        {**template, "id": template["id"] + i, "product_id": template["product_id"] + i, "variant_id": template["variant_id"] + i, "sku": f"{template['sku']}-{i}"}
        for i in range(lines)
    ]
    return json.dumps(order, separators=(",", ":") if as_sent else None).encode()


def _money(amount: str) -> dict:
    return {"shop_money": {"amount": amount, "currency_code": "USD"}, "presentment_money": {"amount": amount, "currency_code": "USD"}}


def _documented_line_fields(line: dict) -> dict:
    return {
        "admin_graphql_api_id": f"gid://shopify/LineItem/{line['id']}",
        "attributed_staffs": [],
        "current_quantity": line["quantity"],
        "fulfillable_quantity": line["quantity"],
        "fulfillment_service": "manual",
        "fulfillment_status": None,
        "grams": 180,
        "name": f"{line['title']} - {line.get('variant_title', '')}",
        "price_set": _money(line["price"]),
        "properties": [],
        "requires_shipping": True,
        "taxable": True,
        "total_discount": "0.00",
        "total_discount_set": _money("0.00"),
        "variant_inventory_management": "shopify",
        "vendor": "Example Goods",
        "tax_lines": [{"channel_liable": False, "price": "2.80", "price_set": _money("2.80"), "rate": 0.08, "title": "State tax"}],
        "duties": [],
        "discount_allocations": [],
    }


def _documented_order_fields(order: dict) -> dict:
    address = {
        **order["shipping_address"],
        "name": "Example Buyer",
        "company": None,
        "address2": "",
        "province": "Example",
        "province_code": "EX",
        "country_code": "US",
        "phone": None,
        "latitude": None,
        "longitude": None,
    }
    customer = {
        **order["customer"],
        "admin_graphql_api_id": f"gid://shopify/Customer/{order['customer']['id']}",
        "created_at": order["created_at"],
        "updated_at": order["updated_at"],
        "state": "enabled",
        "note": None,
        "verified_email": True,
        "multipass_identifier": None,
        "tax_exempt": False,
        "tax_exemptions": [],
        "tags": "",
        "currency": "USD",
        "default_address": {**address, "id": 1, "customer_id": order["customer"]["id"], "default": True},
    }
    shipping_line = {
        "id": 1,
        "carrier_identifier": None,
        "code": "Standard",
        "discounted_price": "0.00",
        "discounted_price_set": _money("0.00"),
        "is_removed": False,
        "phone": None,
        "price": "0.00",
        "price_set": _money("0.00"),
        "requested_fulfillment_service_id": None,
        "source": "shopify",
        "title": "Standard",
        "tax_lines": [],
        "discount_allocations": [],
    }
    total, subtotal, tax, zero = order["total_price"], "151.88", "12.12", "0.00"
    return {
        "app_id": 580111,
        "billing_address": address,
        "browser_ip": "192.0.2.1",
        "buyer_accepts_marketing": False,
        "cancel_reason": None,
        "cancelled_at": None,
        "client_details": {"accept_language": "en-US", "browser_height": None, "browser_ip": "192.0.2.1", "browser_width": None, "session_hash": None, "user_agent": "Mozilla/5.0"},
        "closed_at": None,
        "company": None,
        "confirmation_number": "XPAV284CT",
        "confirmed": True,
        "contact_email": order["email"],
        "current_subtotal_price": subtotal,
        "current_subtotal_price_set": _money(subtotal),
        "current_total_additional_fees_set": None,
        "current_total_discounts": zero,
        "current_total_discounts_set": _money(zero),
        "current_total_duties_set": None,
        "current_total_price": total,
        "current_total_price_set": _money(total),
        "current_total_tax": tax,
        "current_total_tax_set": _money(tax),
        "customer": customer,
        "customer_locale": "en",
        "device_id": None,
        "discount_applications": [],
        "discount_codes": [],
        "estimated_taxes": False,
        "fulfillment_status": None,
        "fulfillments": [],
        "gateway": "shopify_payments",
        "landing_site": "/",
        "landing_site_ref": None,
        "location_id": None,
        "merchant_of_record_app_id": None,
        "note": None,
        "note_attributes": [],
        "number": 42,
        "order_number": 1042,
        "order_status_url": "https://example.myshopify.com/1/orders/0123456789abcdef/authenticate?key=0123456789abcdef",
        "original_total_additional_fees_set": None,
        "original_total_duties_set": None,
        "payment_gateway_names": ["shopify_payments"],
        "payment_terms": None,
        "po_number": None,
        "presentment_currency": "USD",
        "reference": None,
        "referring_site": "",
        "refunds": [],
        "shipping_lines": [shipping_line],
        "source_identifier": None,
        "source_name": "web",
        "source_url": None,
        "subtotal_price": subtotal,
        "subtotal_price_set": _money(subtotal),
        "tags": "",
        "tax_exempt": False,
        "tax_lines": [{"channel_liable": False, "price": tax, "price_set": _money(tax), "rate": 0.08, "title": "State tax"}],
        "taxes_included": False,
        "test": False,
        "token": "0123456789abcdef0123456789abcdef",
        "total_discounts": zero,
        "total_discounts_set": _money(zero),
        "total_line_items_price": subtotal,
        "total_line_items_price_set": _money(subtotal),
        "total_outstanding": zero,
        "total_price_set": _money(total),
        "total_shipping_price_set": _money(zero),
        "total_tax": tax,
        "total_tax_set": _money(tax),
        "total_tip_received": zero,
        "total_weight": 0,
        "user_id": None,
    }
