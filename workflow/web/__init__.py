"""The served interface: pages for people who will not open a terminal, and
a JSON API, over the same :class:`~workflow.campaign.Campaign` the command
line uses.  Nothing here decides who may do what; it signs people in and
hands their requests to the services, which check every rule."""
