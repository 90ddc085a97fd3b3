"""Signals core sends so apps can react without core knowing them."""

from django.dispatch import Signal

# Sent by core.tasks.email_send inside the transaction that marks the email sent, with
# ``email`` (the OutboundEmail): a receiver's writes (a timeline row) commit or roll back
# together with the "sent" mark.
email_sent = Signal()
