"""Expected values computed straight from the Olist CSV files with pandas.

Independent of the importer's SQL: only the documented rules are re-implemented here
(valid order = status not canceled/unavailable; a buyer's state is the one of their latest
order; an order's seller is the one with the largest item value, ties → smallest id; an
order's GMV is allocated to categories in proportion to item prices).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd

CANCELLED = {"canceled", "unavailable"}


@dataclass
class OlistReference:
    folder: Path

    def _read(self, name: str) -> pd.DataFrame:
        return pd.read_csv(self.folder / f"olist_{name}_dataset.csv", dtype=str,
                           keep_default_na=False, na_values=[""])

    @cached_property
    def orders(self) -> pd.DataFrame:
        df = self._read("orders")
        df["ts"] = pd.to_datetime(df["order_purchase_timestamp"])
        df["valid"] = ~df["order_status"].isin(CANCELLED)
        return df

    @cached_property
    def customers(self) -> pd.DataFrame:
        return self._read("customers")

    @cached_property
    def items(self) -> pd.DataFrame:
        df = self._read("order_items")
        df["price"] = df["price"].astype(float)
        return df

    @cached_property
    def payments(self) -> pd.DataFrame:
        df = self._read("order_payments")
        df["payment_value"] = df["payment_value"].astype(float)
        return df

    @cached_property
    def reviews(self) -> pd.DataFrame:
        df = self._read("order_reviews").drop_duplicates(["review_id", "order_id"])
        df["review_score"] = df["review_score"].astype(int)
        return df

    @cached_property
    def products(self) -> pd.DataFrame:
        return self._read("products")

    @cached_property
    def sellers(self) -> pd.DataFrame:
        return self._read("sellers")

    @cached_property
    def translation(self) -> dict[str, str]:
        df = pd.read_csv(self.folder / "product_category_name_translation.csv", dtype=str)
        return dict(zip(df["product_category_name"], df["product_category_name_english"],
                        strict=True))

    # ---- derived -------------------------------------------------------------------------
    @cached_property
    def order_pay(self) -> pd.Series:
        """Sum of payments per order id."""
        return self.payments.groupby("order_id")["payment_value"].sum()

    @cached_property
    def orders_full(self) -> pd.DataFrame:
        """Orders with unique customer id, pay amount and the buyer's state (latest order)."""
        df = self.orders.merge(self.customers, on="customer_id", how="left")
        df["pay"] = df["order_id"].map(self.order_pay).fillna(0.0)
        latest = df.sort_values(["ts", "order_id"]).groupby("customer_unique_id").tail(1)
        state = latest.set_index("customer_unique_id")["customer_state"]
        df["buyer_state"] = df["customer_unique_id"].map(state)
        return df

    def gmv(self) -> float:
        df = self.orders_full
        return float(df.loc[df["valid"], "pay"].sum())

    def valid_orders_by_state(self) -> dict[str, int]:
        df = self.orders_full
        return df[df["valid"]].groupby("buyer_state").size().to_dict()

    def repeat_buyers_by_state(self) -> dict[str, int]:
        df = self.orders_full
        per_buyer = df[df["valid"]].groupby("customer_unique_id").agg(
            n=("order_id", "size"), state=("buyer_state", "first"))
        return per_buyer[per_buyer["n"] >= 2].groupby("state").size().to_dict()

    def order_seller(self) -> pd.Series:
        """The seller with the largest item value in each order (ties → smallest seller id)."""
        amounts = self.items.groupby(["order_id", "seller_id"])["price"].sum().reset_index()
        amounts = amounts.sort_values(["order_id", "price", "seller_id"],
                                      ascending=[True, False, True])
        return amounts.groupby("order_id").head(1).set_index("order_id")["seller_id"]

    def seller_gmv(self, year: int) -> pd.Series:
        df = self.orders_full
        df = df[df["valid"] & (df["ts"].dt.year == year)].copy()
        df["seller_id"] = df["order_id"].map(self.order_seller())
        return df.groupby("seller_id")["pay"].sum().sort_values(ascending=False)

    def category_gmv(self) -> pd.Series:
        """GMV per English category, order pay allocated by item price share."""
        items = self.items.merge(self.products[["product_id", "product_category_name"]],
                                 on="product_id", how="left")
        items["share"] = items["price"] / items.groupby("order_id")["price"].transform("sum")
        df = self.orders_full
        valid = df[df["valid"]].set_index("order_id")["pay"]
        items = items[items["order_id"].isin(valid.index)]
        items["gmv"] = items["share"] * items["order_id"].map(valid)
        items["category"] = items["product_category_name"].map(
            lambda pt: self.translation.get(pt, pt) if isinstance(pt, str) else "uncategorized")
        return items.groupby("category")["gmv"].sum().sort_values(ascending=False)

    def avg_rating_by_state(self) -> dict[str, float]:
        df = self.reviews.merge(self.orders_full[["order_id", "buyer_state"]], on="order_id")
        return df.groupby("buyer_state")["review_score"].mean().to_dict()
