"""Go Shops webhook adapter: Shopify and VTEX webhooks in, Go Shops interactions out."""
