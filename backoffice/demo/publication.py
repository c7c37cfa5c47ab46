"""(to be written)"""


def seed(ctx):
    pass
