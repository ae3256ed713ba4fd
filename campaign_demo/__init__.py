"""The demonstration campaign: a scripted walk through the 2014 plan with a generated roster."""
