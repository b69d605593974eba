"""Who may see and open what: the task rows an actor may see, the forms a portal account's open tasks let it open. Below the inbox, forms and intake, which all guard with it."""
