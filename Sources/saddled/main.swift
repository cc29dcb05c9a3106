print("saddled")
